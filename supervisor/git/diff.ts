import { copyFile, mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invalid } from '../../machines/app-error.ts';
import type { DiffPool } from './diff-pool.ts';
import { DEFAULT_DIFF_LIMITS, MAX_DIFF_LIMITS, type DiffLimits, type DiffResult, type DiffTaskInput } from '../../machines/diff-types.ts';
import { runGit, revParse, type GitRun } from './git-exec.ts';
import { jobGitEnv } from './job-git.ts';

/**
 * The job's live diff: everything the agent changed in its worktree —
 * committed, staged, unstaged AND untracked — relative to where the job
 * branched off the base ref.
 *
 * WHY a temporary index: `git diff <base>` alone misses untracked files, and
 * `git add -A` on the real index would change what the agent (or the user in
 * the worktree) has staged. A throwaway GIT_INDEX_FILE seeded with a copy of
 * the real index sees the whole working tree while the real index is only
 * ever read. Seeding with the copy keeps the stat cache, so only changed
 * files are re-hashed.
 *
 * WHY the merge-base: if the base branch moved on after the job started, a
 * diff against the base tip would show the base's new commits as reverted by
 * the agent. The merge-base shows only the job's own changes.
 */
export interface ComputeDiffOptions {
  /** The user's repository: where git finds the job's git directories (job-git.ts). */
  repoPath: string;
  worktreePath: string;
  /** The job's base ref (branch name or commit). */
  baseRef: string;
  pool: DiffPool;
  limits?: Partial<DiffLimits>;
  signal?: AbortSignal;
}

/** Flags that make the output parseable whatever the user's git config says. */
const DIFF_FLAGS = [
  '-c', 'core.quotePath=false',
  '-c', 'diff.suppressBlankEmpty=false',
  'diff', '--cached', '-M', '--no-color', '--full-index', '--no-relative',
  '--src-prefix=a/', '--dst-prefix=b/',
];

export async function computeDiff(opts: ComputeDiffOptions): Promise<DiffResult> {
  const limits = normalizeLimits(opts.limits);
  const cwd = opts.worktreePath;
  // Every git process of a diff starts from a pool thread: a fork from the main thread stalls its event loop.
  // Every one of them finds the repository through the user's checkout, never through files in the worktree.
  const pin = await jobGitEnv(opts.repoPath, cwd, (c, args, o) => opts.pool.git(c, args, o));
  const git: GitRun = (c, args, o = {}) => opts.pool.git(c, args, { ...o, env: { ...pin, ...o.env } });
  const baseCommit = await diffBase(cwd, opts.baseRef, git);
  const dir = await mkdtemp(join(tmpdir(), 'cpl-diff-'));
  try {
    const env = { ...pin, GIT_INDEX_FILE: await snapshotWorktree(cwd, join(dir, 'index'), git) };
    const input: DiffTaskInput = {
      cwd,
      env,
      limits,
      patchArgs: [...DIFF_FLAGS, baseCommit, '--'],
      numstatArgs: [...DIFF_FLAGS, '--numstat', '-z', baseCommit, '--'],
    };
    const out = await opts.pool.run(input, opts.signal);
    const result: DiffResult = { files: out.files, stats: out.totals, baseCommit };
    if (out.truncated) {
      result.truncated = true;
      if (out.nextOffset !== undefined) result.nextOffset = out.nextOffset;
    }
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Limits usually come from query parameters: clamp instead of trusting them. */
export function normalizeLimits(l: Partial<DiffLimits> = {}): DiffLimits {
  const int = (v: number | undefined, dflt: number, min: number) => (v === undefined || !Number.isFinite(v) ? dflt : Math.max(min, Math.floor(v)));
  return {
    maxFiles: Math.min(int(l.maxFiles, DEFAULT_DIFF_LIMITS.maxFiles, 1), MAX_DIFF_LIMITS.maxFiles),
    maxBytes: Math.min(int(l.maxBytes, DEFAULT_DIFF_LIMITS.maxBytes, 1024), MAX_DIFF_LIMITS.maxBytes),
    offset: int(l.offset, 0, 0),
  };
}

/** merge-base(baseRef, HEAD); the base commit itself when histories are unrelated. */
export async function diffBase(worktreePath: string, baseRef: string, git: GitRun = runGit): Promise<string> {
  if (baseRef.startsWith('-')) throw invalid('UNKNOWN_BASE_REF', `base ref "${baseRef}" is not valid`, 'baseRef');
  const base = await revParse(worktreePath, baseRef, git);
  if (!base) throw invalid('UNKNOWN_BASE_REF', `base ref "${baseRef}" does not exist`, 'baseRef');
  const mb = await git(worktreePath, ['merge-base', base, 'HEAD'], { okCodes: [0, 1] });
  return mb.code === 0 ? mb.stdout.trim() : base;
}

/**
 * Stages the whole working tree into `indexFile` (never the real index) and
 * returns its path. Falls back to an empty seed if the copied index cannot be
 * used (split-index setups keep part of it beside the real one).
 */
async function snapshotWorktree(cwd: string, indexFile: string, git: GitRun): Promise<string> {
  const realIndex = (await git(cwd, ['rev-parse', '--path-format=absolute', '--git-path', 'index'])).stdout.trim();
  // The copy must keep the real index's mtime: git's racy-clean check compares each entry's
  // mtime with the INDEX FILE's mtime. A fresh mtime would make git trust stale stat data and
  // miss a same-size edit made in the same second as the last index write.
  const seeded = await stat(realIndex)
    .then(async (st) => {
      await copyFile(realIndex, indexFile);
      await utimes(indexFile, st.atime, st.mtime);
      return true;
    })
    .catch(() => false);
  const add = () => git(cwd, ['add', '-A', '--', '.'], { env: { GIT_INDEX_FILE: indexFile }, timeoutMs: 600_000 });
  try {
    await add();
  } catch (e) {
    if (!seeded) throw e;
    await rm(indexFile, { force: true });
    await add();
  }
  return indexFile;
}
