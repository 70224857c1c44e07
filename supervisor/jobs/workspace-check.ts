/**
 * Is a job's workspace still there? A repository or a job's worktree can be
 * deleted (or moved) by the user while the job lives. Everything that runs
 * git for a job asks here first, so a vanished one is a clear 409 with a
 * stable code and a failed job naming it, instead of a 500 from git.
 */
import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { conflict } from '../../machines/app-error.ts';
import type { JobState } from '../../machines/job-spec.ts';

export type WorkspaceProblemCode = 'REPO_MISSING' | 'WORKTREE_MISSING';

export interface WorkspaceProblem {
  code: WorkspaceProblemCode;
  /** For the HTTP answer. */
  message: string;
  /** The job's failureReason: says what vanished, where, and the code. */
  reason: string;
}

/** States in which a job holds a worktree it is still working in or offering for review. */
export const WORKSPACE_STATES: readonly JobState[] = ['running', 'waiting_for_approval', 'review'];

const present = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

/**
 * The first thing missing: the repository (its `.git`, file or directory, at the registered
 * top) before the worktree (its directory and the `.git` file that links it to the repository).
 * Only existence is checked: cheap enough to run every few seconds for every active job.
 */
export async function workspaceProblem(job: { repo: string; worktreePath: string }): Promise<WorkspaceProblem | undefined> {
  if (!(await present(join(job.repo, '.git'))))
    return {
      code: 'REPO_MISSING',
      message: `the job's repository ${job.repo} no longer exists`,
      reason: `REPO_MISSING: the repository ${job.repo} was deleted or moved while the job ran; its work cannot be reviewed or landed (discard the job to remove what is left)`,
    };
  if (!(await present(join(job.worktreePath, '.git'))))
    return {
      code: 'WORKTREE_MISSING',
      message: `the job's worktree ${job.worktreePath} no longer exists`,
      reason: `WORKTREE_MISSING: the job's worktree ${job.worktreePath} was deleted while the job ran; its work is gone (discard the job to remove what is left)`,
    };
  if (!(await linkedToRepository(job.worktreePath)))
    return {
      code: 'WORKTREE_MISSING',
      message: `the job's worktree ${job.worktreePath} is no longer a worktree of ${job.repo}`,
      reason: `WORKTREE_MISSING: the job's worktree ${job.worktreePath} lost its link to the repository ${job.repo} (the repository was replaced, or its worktree entry removed); git cannot work there (discard the job to remove what is left)`,
    };
  return undefined;
}

/** The failure reason of a job whose repository vanished before its worktree was made. */
export const repoMissingReason = (repo: string): string => `REPO_MISSING: the repository ${repo} was deleted or moved before the job started; nothing was created`;

/**
 * A linked worktree's `.git` is a file naming its entry in the repository (`gitdir: …/.git/worktrees/<id>`):
 * that entry must still exist. A repository deleted and cloned again at the same path keeps a `.git`
 * there, but not the entry, and every git command in the worktree fails.
 */
async function linkedToRepository(worktreePath: string): Promise<boolean> {
  const dotGit = join(worktreePath, '.git');
  const text = await readFile(dotGit, 'utf8').catch(() => undefined);
  if (text === undefined) return true; // a directory (not a linked worktree): nothing to follow
  const gitdir = /^gitdir: (.+)$/m.exec(text)?.[1]?.trim();
  return gitdir !== undefined && present(resolve(worktreePath, gitdir));
}

/**
 * Throws 409 with the problem's code when the job's workspace vanished, after telling
 * `onLost` (which fails the job) if the job is in a state that holds a worktree.
 */
export async function assertWorkspace(job: { id: string; state: JobState; repo: string; worktreePath: string }, onLost: (jobId: string, reason: string) => void): Promise<void> {
  const p = await workspaceProblem(job);
  if (!p) return;
  if (WORKSPACE_STATES.includes(job.state)) onLost(job.id, p.reason);
  throw conflict(p.code, p.message);
}
