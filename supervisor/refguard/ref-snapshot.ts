import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { refGit } from './ref-git.ts';

/**
 * What the guard compares: every ref of the repository (packed and loose, all
 * of `refs/`), the repository's HEAD and the job worktree's HEAD, as one flat
 * map from a name to a value.
 *
 * Values: an object id; `ref: <target>` for a symbolic ref (a HEAD on a
 * branch, `refs/remotes/origin/HEAD`); `broken` for a ref file git cannot
 * read. WHY `broken`: an agent that writes garbage into `.git/refs/heads/main`
 * makes git silently *ignore* the ref (so it would look deleted, and git then
 * refuses to repair it), and garbage in `.git/HEAD` makes git deny that the
 * checkout is a repository at all; so the HEADs are read from their files.
 */
export type RefSnapshot = Record<string, string>;

/** The key of the repository's (the user's checkout's) HEAD. */
export const REPO_HEAD = 'HEAD';
/** The key of the job worktree's HEAD: must stay on the job's branch. */
export const WORKTREE_HEAD = 'worktree:HEAD';
export const BROKEN = 'broken';

/** Where the repository and the worktree keep their HEADs: resolved by git when the job starts a turn, while both are sound. */
export interface RefPlaces {
  repoPath: string;
  worktreePath: string;
  /** `git rev-parse --absolute-git-dir` of the repository's checkout (its HEAD lives here). */
  repoGitDir: string;
  /** The same for the job's worktree (`.git/worktrees/<name>`). */
  worktreeGitDir: string;
  /** `--git-common-dir`: where the shared refs live. */
  commonDir: string;
}

const BROKEN_WARNING = /^warning: ignoring broken ref (refs\/\S+)$/gm;
const OID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const SYMREF = /^ref: (refs\/\S+|HEAD)$/;

/** Asks git where the HEADs and refs of a job's repository live. */
export async function locate(repoPath: string, worktreePath: string): Promise<RefPlaces> {
  const ask = async (cwd: string, what: string): Promise<string> => {
    const r = await refGit(cwd, ['rev-parse', what]);
    if (r.code !== 0) throw new Error(`git rev-parse ${what} in ${cwd} failed: ${r.stderr.trim().slice(0, 300)}`);
    return r.stdout.trim();
  };
  const [repoGitDir, worktreeGitDir, common] = await Promise.all([ask(repoPath, '--absolute-git-dir'), ask(worktreePath, '--absolute-git-dir'), ask(worktreePath, '--git-common-dir')]);
  return { repoPath, worktreePath, repoGitDir, worktreeGitDir, commonDir: resolve(worktreePath, common) };
}

/** Reads the snapshot. Throws when git cannot list the refs at all (the caller reports it). */
export async function takeRefSnapshot(p: RefPlaces): Promise<RefSnapshot> {
  // From the worktree first: a garbage .git/HEAD in the user's checkout stops git there, not in the worktree.
  let list = await refGit(p.worktreePath, ['for-each-ref', '--format=%(refname)%00%(objectname)%00%(symref)', 'refs/']).catch(() => undefined);
  if (!list || list.code !== 0) list = await refGit(p.repoPath, ['for-each-ref', '--format=%(refname)%00%(objectname)%00%(symref)', 'refs/']);
  if (list.code !== 0) throw new Error(`git for-each-ref failed (${list.code}): ${list.stderr.trim().slice(0, 500)}`);
  const snap = parseRefList(list.stdout, list.stderr);
  const [repoHead, wtHead] = await Promise.all([readHeadFile(p.repoGitDir), readHeadFile(p.worktreeGitDir)]);
  if (repoHead !== undefined) snap[REPO_HEAD] = repoHead;
  if (wtHead !== undefined) snap[WORKTREE_HEAD] = wtHead;
  return snap;
}

/** A HEAD file's value (see RefSnapshot), or undefined when there is none. */
export async function readHeadFile(gitDir: string): Promise<string | undefined> {
  const text = await readFile(join(gitDir, 'HEAD'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : headValue(text);
}

/** Normalises what a HEAD file holds: `ref: <target>`, an object id, or `broken`. */
export function headValue(text: string): string {
  const t = text.trim();
  return SYMREF.test(t) || OID.test(t) ? t : BROKEN;
}

/** Every ref under refs/ (no HEADs): what CodePlane's own ref changes are measured with. */
export async function listRefs(cwd: string): Promise<RefSnapshot> {
  const r = await refGit(cwd, ['for-each-ref', '--format=%(refname)%00%(objectname)%00%(symref)', 'refs/']);
  if (r.code !== 0) throw new Error(`git for-each-ref failed (${r.code}): ${r.stderr.trim().slice(0, 500)}`);
  return parseRefList(r.stdout, r.stderr);
}

function parseRefList(stdout: string, stderr: string): RefSnapshot {
  const snap: RefSnapshot = {};
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const [name = '', oid = '', symref = ''] = line.split('\0');
    if (name) snap[name] = symref ? `ref: ${symref}` : oid;
  }
  for (const m of stderr.matchAll(BROKEN_WARNING)) snap[m[1]!] = BROKEN;
  return snap;
}
