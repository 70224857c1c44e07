import { stat } from 'node:fs/promises';
import { conflict } from '../../machines/app-error.ts';
import { runGit as runGitHere, splitZ, type GitRun } from './git-exec.ts';
import { jobGitEnv } from './job-git.ts';

/**
 * Committing on the agent's behalf, in the JOB's worktree only.
 *
 * WHY the fallback identity: many workstations (fresh laptops, containers)
 * have no `user.name`/`user.email`; a merge that fails with "Please tell me
 * who you are" after the user clicked "merge" is a dead end. We only supply
 * `-c user.*` when the repository's effective config lacks it, so a
 * configured identity always wins. (GIT_AUTHOR_* / GIT_COMMITTER_* in the
 * server's environment do not count: the server's git sees no GIT_* variable
 * it did not set itself, machines/git-invocation.ts.)
 */
export const FALLBACK_IDENTITY = { name: 'CodePlane', email: 'codeplane@localhost' } as const;

/** `-c user.name=… -c user.email=…` for whichever of the two is unset in `cwd`'s effective config. */
export async function identityArgs(cwd: string, env?: Record<string, string>): Promise<string[]> {
  const get = async (key: string) => (await runGitHere(cwd, ['config', '--get', key], { okCodes: [0, 1], ...(env ? { env } : {}) })).stdout.trim();
  const args: string[] = [];
  if (!(await get('user.name'))) args.push('-c', `user.name=${FALLBACK_IDENTITY.name}`);
  if (!(await get('user.email'))) args.push('-c', `user.email=${FALLBACK_IDENTITY.email}`);
  return args;
}

export function commitMessageFor(jobTitle: string): string {
  const title = jobTitle.replace(/\s+/g, ' ').trim() || 'agent changes';
  return `CodePlane: ${title.length > 200 ? `${title.slice(0, 199)}…` : title}`;
}

/** WORKTREE_MISSING (409) when the job's worktree directory is gone (deleted by hand, cleaned up). */
export async function ensureWorktree(worktreePath: string): Promise<void> {
  const ok = await stat(worktreePath).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!ok) throw conflict('WORKTREE_MISSING', `the job's worktree ${worktreePath} no longer exists`, { worktreePath });
}

export interface CommitOutcome {
  /** The job branch head after the call. */
  head: string;
  /** True when there were uncommitted changes and a commit was made. */
  committed: boolean;
}

/**
 * `git add -A && git commit` in the job worktree when anything is uncommitted
 * (tracked edits, deletions, untracked non-ignored files).
 *
 * `--no-verify`: the user reviewed this exact change in CodePlane; a local
 * pre-commit hook (formatter, linter) rewriting or rejecting it at landing
 * time would land something different from what was reviewed.
 */
export async function commitPendingChanges(repoPath: string, worktreePath: string, jobTitle: string): Promise<CommitOutcome> {
  await ensureWorktree(worktreePath);
  // The repository as the user's checkout knows it, whatever the worktree's .git file says (job-git.ts).
  const env = await jobGitEnv(repoPath, worktreePath);
  const runGit: GitRun = (cwd, args, opts = {}) => runGitHere(cwd, args, { ...opts, env: { ...env, ...opts.env } });
  const gitOut = async (cwd: string, args: readonly string[]) => (await runGit(cwd, args)).stdout.trim();
  // `add -A` would stage conflict markers as if resolved: refuse while the agent is mid-merge.
  const unmerged = splitZ(await gitOut(worktreePath, ['ls-files', '-u', '-z'])).map((l) => l.slice(l.indexOf('\t') + 1));
  if (unmerged.length > 0) {
    const files = [...new Set(unmerged)];
    throw conflict('JOB_HAS_UNRESOLVED_CONFLICTS', `the job's worktree has unresolved conflicts in ${files.join(', ')}`, { conflictFiles: files });
  }
  const status = await runGit(worktreePath, ['status', '--porcelain=v1', '-z', '--untracked-files=all']);
  if (status.stdout.length > 0) {
    await runGit(worktreePath, ['add', '-A']);
    // A status change that nets to nothing in the index (e.g. a touched file) leaves nothing to commit.
    const staged = await runGit(worktreePath, ['diff', '--cached', '--quiet'], { okCodes: [0, 1] });
    if (staged.code === 1) {
      const id = await identityArgs(worktreePath, env);
      await runGit(worktreePath, [...id, 'commit', '--no-verify', '--quiet', '-m', commitMessageFor(jobTitle)]);
      return { head: await gitOut(worktreePath, ['rev-parse', 'HEAD']), committed: true };
    }
  }
  return { head: await gitOut(worktreePath, ['rev-parse', 'HEAD']), committed: false };
}
