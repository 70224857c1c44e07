import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { GitLayout } from '../../machines/bwrap-args.ts';

/**
 * Where a job worktree's git state lives, for the sandbox (machines/bwrap-args.ts decides what of it is
 * writable). Read from the filesystem, never from git: the worktree's `.git` file and its admin
 * dir are the agent's to write, so everything starts from the repository path the SUPERVISOR
 * gave, and a pointer the agent could have rewritten is only ever checked against it.
 */

const real = (p: string): string | undefined => {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
};
const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};
const readLine = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8').split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
};

/** The repository's common dir: `<repo>/.git`, or, for a repository that is itself a linked worktree, its `commondir`. */
export function commonDirOf(repoPath: string): string | undefined {
  const dotGit = join(repoPath, '.git');
  if (isDir(dotGit)) return real(dotGit);
  const pointer = readLine(dotGit);
  if (!pointer?.startsWith('gitdir: ')) return undefined;
  const gitDir = resolve(repoPath, pointer.slice('gitdir: '.length));
  const common = readLine(join(gitDir, 'commondir'));
  return real(common ? (isAbsolute(common) ? common : resolve(gitDir, common)) : gitDir);
}

/**
 * The admin dir (`<common>/worktrees/<name>`) of this worktree. CodePlane names a job's worktree
 * directory after the job, and git names the admin dir after that: only that one is accepted,
 * and only when its `gitdir` names this worktree (no scan: another job's agent can write its
 * own admin dir's `gitdir`, and must not be able to make it match here).
 */
export function adminDirOf(commonDir: string, worktree: string): string | undefined {
  const dir = join(commonDir, 'worktrees', basename(worktree));
  const gitdir = readLine(join(dir, 'gitdir'));
  return gitdir !== undefined && real(gitdir) === join(worktree, '.git') && existsSync(join(dir, 'HEAD')) ? dir : undefined;
}

/** Every loose ref file under `dir`, as paths relative to it. */
function looseRefs(dir: string, prefix = ''): string[] {
  if (!isDir(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...looseRefs(join(dir, entry.name), rel));
    else out.push(rel);
  }
  return out;
}

/** Packed refs under `refs/heads/<dir>/`. */
function packedUnder(commonDir: string, dir: string): string[] {
  let text = '';
  try {
    text = readFileSync(join(commonDir, 'packed-refs'), 'utf8');
  } catch {
    return [];
  }
  const prefix = `refs/heads/${dir}/`;
  return text
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((ref) => ref.startsWith(prefix))
    .map((ref) => ref.slice(prefix.length));
}

/**
 * The job branch's own ref directory, when it has one: CodePlane names job branches
 * `codeplane/<id>/<slug>`, so `refs/heads/codeplane/<id>/` holds that job's branch and nothing
 * else. A branch the user named (`feature/x`, `main2`) shares its directory with the user's
 * refs: it stays read-only (the agent cannot commit; CodePlane commits its work on landing).
 */
export function ownRefOf(commonDir: string, branch: string): GitLayout['ownRef'] {
  const dir = dirname(branch);
  const parts = branch.split('/');
  if (parts.length < 3 || parts[0] !== 'codeplane' || parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  const refDir = join(commonDir, 'refs', 'heads', dir);
  const logDir = join(commonDir, 'logs', 'refs', 'heads', dir);
  const leaf = basename(branch);
  const others = [...looseRefs(refDir), ...packedUnder(commonDir, dir)].filter((r) => r !== leaf);
  if (others.length > 0) return undefined;
  try {
    mkdirSync(refDir, { recursive: true });
    mkdirSync(logDir, { recursive: true });
  } catch {
    return undefined;
  }
  return { refDir, logDir };
}

/**
 * The admin dir's files to pin read-only (see GitLayout.pinned). `config.worktree` is created
 * empty when missing, so that it can be pinned: git reads it only with
 * `extensions.worktreeConfig`, and an agent must not be the one to write it.
 */
export function pinnedOf(adminDir: string): string[] {
  const cfg = join(adminDir, 'config.worktree');
  try {
    if (!existsSync(cfg)) writeFileSync(cfg, '', { flag: 'wx', mode: 0o644 });
  } catch {
    /* a race with another start, or a read-only repository: pinned if it is there */
  }
  return ['HEAD', 'commondir', 'gitdir', 'config.worktree'].map((f) => join(adminDir, f)).filter((p) => existsSync(p));
}

/** The whole layout, or undefined when the worktree is not (or no longer) a worktree of `repoPath`. */
export function gitLayoutOf(repoPath: string, worktree: string, branch: string): GitLayout | undefined {
  const commonDir = commonDirOf(repoPath);
  if (!commonDir || !isDir(join(commonDir, 'objects'))) return undefined;
  const adminDir = adminDirOf(commonDir, worktree);
  if (!adminDir) return undefined;
  const ownRef = ownRefOf(commonDir, branch);
  const objectsInfo = join(commonDir, 'objects', 'info');
  try {
    mkdirSync(objectsInfo, { recursive: true }); // git init makes it; made here when missing, so it can be pinned
  } catch {
    /* a read-only repository: pinned if it is there */
  }
  return { commonDir, adminDir, pinned: pinnedOf(adminDir), ...(isDir(objectsInfo) ? { objectsInfo } : {}), ...(ownRef ? { ownRef } : {}) };
}
