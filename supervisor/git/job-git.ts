import { readdir, readFile, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { conflict } from '../../machines/app-error.ts';
import { runGit, type GitRun } from './git-exec.ts';

/**
 * Where git finds a job's repository, decided by the server, not by files in the worktree.
 *
 * WHY: git run in a linked worktree reads `<worktree>/.git` (a file naming its git directory)
 * and then `<that dir>/commondir` (naming the repository's git directory) to find the
 * configuration, refs and objects. Both lie where the agent writes: the first in its worktree,
 * the second in its own `.git/worktrees/<name>`, writable inside the sandbox so it can commit.
 * An agent that points them at a repository of its own making gets the server's git to read its
 * configuration (`core.worktree=~/.ssh`, and the live diff's `git add` would copy those files
 * into objects the agent can read). So git commands in a job's worktree run with GIT_DIR,
 * GIT_COMMON_DIR and GIT_WORK_TREE set from the USER's repository (its common directory asked
 * of git in the user's checkout) and the worktree's registration found there; neither file in
 * the agent's reach is read.
 */
export interface JobGitEnv {
  GIT_DIR: string;
  GIT_COMMON_DIR: string;
  GIT_WORK_TREE: string;
  [key: string]: string;
}

/** Worktree real path → its git directories (checked still to name the worktree at each use). */
const found = new Map<string, { commonDir: string; adminDir: string }>();

/** `run`: how to ask git (once per worktree) for the repository's common directory; DiffPool.git off the main thread. */
export async function jobGitEnv(repoPath: string, worktreePath: string, run: GitRun = runGit): Promise<JobGitEnv> {
  const wt = await realpath(worktreePath).catch(() => undefined);
  if (!wt) throw conflict('WORKTREE_MISSING', `the job's worktree ${worktreePath} no longer exists`, { worktreePath });
  let dirs = found.get(wt);
  // A worktree removed and made again at the same path may get another registration.
  if (dirs && !(await names(dirs.adminDir, wt))) dirs = undefined;
  if (!dirs) {
    const commonDir = await realpath((await run(repoPath, ['rev-parse', '--path-format=absolute', '--git-common-dir'])).stdout.trim());
    dirs = { commonDir, adminDir: await registration(commonDir, wt) };
    found.set(wt, dirs);
  }
  return { GIT_DIR: dirs.adminDir, GIT_COMMON_DIR: dirs.commonDir, GIT_WORK_TREE: wt };
}

/**
 * `<commonDir>/worktrees/<name>` whose `gitdir` names `<wt>/.git`: exactly one, or the job's
 * worktree is not (or ambiguously) registered in the user's repository.
 */
async function registration(commonDir: string, wt: string): Promise<string> {
  const root = join(commonDir, 'worktrees');
  const entries = await readdir(root).catch(() => [] as string[]);
  const matches: string[] = [];
  for (const name of entries) if (await names(join(root, name), wt)) matches.push(join(root, name));
  if (matches.length === 1) return matches[0]!;
  throw conflict(
    'WORKTREE_NOT_REGISTERED',
    matches.length === 0 ? `the job's worktree ${wt} is not a worktree of the repository` : `several registrations of the repository claim the job's worktree ${wt}`,
    { worktreePath: wt },
  );
}

/** The registration `adminDir` names `wt` (its `gitdir` file is `<wt>/.git`). */
async function names(adminDir: string, wt: string): Promise<boolean> {
  const gitdir = (await readFile(join(adminDir, 'gitdir'), 'utf8').catch(() => '')).trim();
  return gitdir !== '' && (await realpath(dirname(gitdir)).catch(() => undefined)) === wt;
}
