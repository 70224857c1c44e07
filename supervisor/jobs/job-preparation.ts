/**
 * Preparing a job's working copy: its worktree on its own branch at the base
 * commit, the gitignored files the project lists in .worktreeinclude, and the
 * repository's setup command (whose output lines become the job's log).
 * Throws with a reason the user can read; the caller fails the job with it.
 */
import { basename } from 'node:path';
import type { Logger } from 'pino';
import type { Job } from '../../api/contract.ts';
import { addWorktree, resolveCommit } from '../git/worktrees.ts';
import { copyWorktreeIncludes, runSetupCommand } from '../git/worktree-setup.ts';
import { repositoryPresent } from '../git/repo-present.ts';
import { repoMissingReason } from './workspace-check.ts';

export interface PreparationDeps {
  /** See config `setupCommands`: by repository path or by its folder name. */
  setupCommands?: Record<string, string>;
  log: Logger;
  /** A line for the job's log (the setup command's output). */
  jobLog(message: string, level: 'info' | 'warn'): void;
  /** Runs CodePlane's own ref change so the ref guard of other jobs' turns knows it (RefGuard.ownChange). */
  ownRefChange?: <T>(repoPath: string, touches: (ref: string) => boolean, op: () => Promise<T>) => Promise<T>;
}

export async function prepareWorktree(job: Job, d: PreparationDeps): Promise<void> {
  // A repository deleted (or stripped of its .git) while the job was queued: git would answer
  // "unknown base ref", or walk up and add the worktree and branch to an enclosing repository.
  if (!(await repositoryPresent(job.repo))) throw new Error(repoMissingReason(job.repo));
  try {
    const commit = await resolveCommit(job.repo, job.baseRef);
    const add = () => addWorktree(job.repo, job.worktreePath, job.branch, commit);
    await (d.ownRefChange ? d.ownRefChange(job.repo, (ref) => ref === `refs/heads/${job.branch}`, add) : add());
    const { copied } = await copyWorktreeIncludes({ repoPath: job.repo, worktreePath: job.worktreePath });
    if (copied.length) d.log.info({ copied }, 'copied .worktreeinclude files into the worktree');
  } catch (e) {
    throw new Error(`could not create the worktree: ${e instanceof Error ? e.message.trim() : String(e)}`, { cause: e });
  }
  const setup = d.setupCommands?.[job.repo] ?? d.setupCommands?.[basename(job.repo)];
  if (!setup) return;
  d.jobLog(`setup: ${setup}`, 'info');
  const r = await runSetupCommand({ worktreePath: job.worktreePath, command: setup, onLine: (line, stream) => d.jobLog(line, stream === 'stderr' ? 'warn' : 'info') });
  if (!r.ok) throw new Error(`the setup command failed (${r.exitCode === null ? r.code : `exit ${r.exitCode}`}): ${r.tail.slice(-10).join('\n').trim()}`);
}
