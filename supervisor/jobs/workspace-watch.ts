/**
 * Notices a job whose repository or worktree vanished while it runs or waits
 * in review (the user deleted or moved it): the job fails with the reason
 * instead of its agent working on in a broken worktree and every route that
 * runs git answering 500.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import * as jobsRepo from '../db/jobs-repo.ts';
import { WORKSPACE_STATES, workspaceProblem } from './workspace-check.ts';

/** How often every active job's workspace is looked at (two `access` calls per job). */
export const WORKSPACE_CHECK_MS = 2_000;
/** A job told and still not failed (its worker was busy starting) is told again after this long. */
const RETELL_MS = 10_000;

export interface WorkspaceWatchDeps {
  db: Db;
  log: Logger;
  /** Fails the job with `reason` (JobSupervisor.workspaceLost). */
  lost(jobId: string, reason: string): void;
  intervalMs?: number;
}

export class WorkspaceWatch {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  /** When each job was last told, on the monotonic clock. */
  private readonly told = new Map<string, number>();

  constructor(private readonly d: WorkspaceWatchDeps) {}

  start(): void {
    this.timer ??= setInterval(() => void this.sweep(), this.d.intervalMs ?? WORKSPACE_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look at every job that holds a worktree. Never throws (it runs from a timer). */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const jobs = jobsRepo.listByStates(this.d.db, WORKSPACE_STATES);
      const ids = new Set(jobs.map((j) => j.id));
      for (const id of this.told.keys()) if (!ids.has(id)) this.told.delete(id);
      for (const job of jobs) {
        const problem = await workspaceProblem(job);
        if (!problem) continue;
        const last = this.told.get(job.id);
        if (last !== undefined && performance.now() - last < RETELL_MS) continue;
        this.told.set(job.id, performance.now());
        this.d.log.warn({ jobId: job.id, code: problem.code, repo: job.repo, worktree: job.worktreePath }, 'the job\'s workspace vanished; failing the job');
        this.d.lost(job.id, problem.reason);
      }
    } catch (e) {
      this.d.log.warn({ err: e }, 'could not check the jobs\' workspaces');
    } finally {
      this.sweeping = false;
    }
  }
}
