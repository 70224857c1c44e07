import type { Logger } from 'pino';
import type { Job, ResolveAction, ResolveResult, StoredEvent } from '../../api/contract.ts';
import { AppError, conflict, notFound } from '../../machines/app-error.ts';
import type { Resolution } from '../../machines/job-spec.ts';
import type { Db } from '../db/database.ts';
import * as eventsRepo from '../db/events-repo.ts';
import * as jobsRepo from '../db/jobs-repo.ts';
import type { DiskUsageTracker } from './disk-usage-tracker.ts';
import type { EventHub } from '../events/event-hub.ts';
import { discardJob } from '../git/discard.ts';
import { existsSync } from 'node:fs';
import { DiffCoalescer } from '../git/diff-coalescer.ts';
import type { DiffPool } from '../git/diff-pool.ts';
import { summarizeDiff, type DiffLimits, type DiffResult, type DiffSummary } from '../../machines/diff-types.ts';
import { computeDiff } from '../git/diff.ts';
import { conflictResolutionPrompt, mergeJob, type MergeStrategy } from '../git/merge.ts';
import { createPullRequest } from '../git/pull-request.ts';
import { removeWorktree } from '../git/worktrees.ts';
import { shortBranch } from '../git/worktree-list.ts';
import type { JobSupervisor } from '../jobs/job-supervisor.ts';
import { publishDiff, resolveJob } from './review-transitions.ts';
import { assertWorkspace } from '../jobs/workspace-check.ts';


export interface ReviewDeps {
  db: Db;
  hub: EventHub;
  pool: DiffPool;
  supervisor: JobSupervisor;
  worktreesRoot: string;
  /** Remove a resolved job's worktree (and a merged or discarded job's branch). */
  cleanupResolved: boolean;
  log: Logger;
  /** Re-measured whenever the agent's changes produce a new diff, forgotten when the worktree goes. */
  diskUsage: DiskUsageTracker;
}

/**
 * Reviewing and landing a job's work: the live diff (coalesced, computed in
 * the piscina pool), and the resolve actions that run git for the user.
 */
export class ReviewService {
  private readonly coalescer: DiffCoalescer<DiffResult>;
  private readonly resolving = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(private readonly d: ReviewDeps) {
    this.coalescer = new DiffCoalescer<DiffResult>({
      compute: (jobId) => this.compute(jobId, { maxFiles: 2000, maxBytes: 1024 * 1024 }),
      onResult: (jobId, result) => {
        publishDiff(this.d.supervisor, this.d.db, jobId, summarizeDiff(result));
        const job = jobsRepo.getJob(this.d.db, jobId);
        if (job) void this.d.diskUsage.refresh(job);
      },
      onError: (jobId, e) => this.d.log.warn({ jobId, err: e }, 'diff computation failed'),
    });
    this.unsubscribe = d.hub.subscribe({}, (e) => this.onEvent(e));
  }

  close(): void {
    this.unsubscribe();
  }

  /** The last diff summary published for the job (for its snapshot). */
  summary(jobId: string): DiffSummary['stats'] | null {
    const e = eventsRepo.latestOfType(this.d.db, jobId, 'diff_update');
    return e?.event.type === 'diff_update' ? e.event.stats : null;
  }

  async diff(jobId: string, limits: Partial<DiffLimits>): Promise<DiffResult> {
    return this.compute(jobId, limits);
  }

  async resolve(jobId: string, action: ResolveAction, opts: { strategy?: MergeStrategy } = {}): Promise<ResolveResult> {
    const job = this.mustGet(jobId);
    // Merging or opening a pull request needs the repository and the worktree: checked first, so the
    // answer names what vanished rather than the state it left the job in (discard removes what is left).
    if (action !== 'discard' && job.state !== 'queued' && job.state !== 'preparing') await assertWorkspace(job, this.d.supervisor.workspaceLost);
    // A job that ended without landing (failed, canceled) can still be discarded, which removes what it left.
    const discardable = action === 'discard' && (job.state === 'failed' || job.state === 'canceled');
    if (job.state !== 'review' && !discardable)
      throw conflict('INVALID_STATE', `only a job in review can be resolved${action === 'discard' ? ' (or, to discard it, one that failed or was canceled)' : ''}; this one is ${job.state}`);
    if (this.resolving.has(jobId)) throw conflict('RESOLVE_IN_PROGRESS', 'this job is already being resolved');
    this.resolving.add(jobId);
    try {
      const outcome = await this.land(job, action, opts.strategy ?? 'merge');
      await resolveJob(this.d.supervisor, this.d.db, jobId, outcome.resolution, outcome.prUrl);
      void this.cleanup(jobId, outcome.resolution).catch((e: unknown) => this.d.log.warn({ jobId, err: e }, 'cleanup after resolve failed'));
      return outcome;
    } finally {
      this.resolving.delete(jobId);
    }
  }

  private async land(job: Job, action: ResolveAction, strategy: MergeStrategy): Promise<ResolveResult> {
    switch (action) {
      case 'merge': {
        try {
          // The base branch moves (and the job's own, when its pending changes are committed first).
          const r = await this.ownRefChange(job, (ref) => ref === `refs/heads/${shortBranch(job.baseRef)}`, () =>
            mergeJob({ repoPath: job.repo, worktreePath: job.worktreePath, branch: job.branch, baseRef: job.baseRef, strategy, jobTitle: job.title }));
          return { resolution: 'merged', message: `merged into ${job.baseRef} (${r.commit.slice(0, 10)})` };
        } catch (e) {
          // The UI offers "resolve with agent": the follow-up text travels with the conflict.
          if (e instanceof AppError && e.code === 'MERGE_CONFLICT') {
            const files = (e.extra.details?.['conflictFiles'] as string[] | undefined) ?? [];
            throw conflict('MERGE_CONFLICT', e.message, { conflictFiles: files, agentPrompt: conflictResolutionPrompt(job.baseRef, files) });
          }
          throw e;
        }
      }
      case 'create_pr': {
        const summary = eventsRepo.transcript(this.d.db, job.id, { limit: 50 }).find((t) => t.role === 'agent')?.text;
        // A push moves the remote-tracking refs of the job's branch.
        const r = await this.ownRefChange(job, (ref) => ref.startsWith('refs/remotes/'), () => createPullRequest({ repoPath: job.repo, worktreePath: job.worktreePath, branch: job.branch, baseRef: job.baseRef, title: job.title, prompt: job.prompt, ...(summary ? { summary } : {}) }));
        return { resolution: 'pr_created', prUrl: r.prUrl, message: r.existing ? `a pull request already existed: ${r.prUrl}` : `opened ${r.prUrl}` };
      }
      case 'discard':
        return { resolution: 'discarded', message: 'the job branch and worktree are being removed' };
    }
  }

  /** After the worker has let go of the worktree: remove it (and the branch when its work is merged or discarded). */
  private async cleanup(jobId: string, resolution: Resolution): Promise<void> {
    await this.d.supervisor.workerGone(jobId);
    this.d.supervisor.removeAgentHome(jobId);
    const job = this.mustGet(jobId);
    try {
      await this.removeResolved(job, resolution);
    } finally {
      void this.d.diskUsage.refresh(job); // drops the entry when the worktree is gone
    }
  }

  private async removeResolved(job: Job, resolution: Resolution): Promise<void> {
    const discard = () => this.ownRefChange(job, () => false, () => discardJob({ repoPath: job.repo, worktreePath: job.worktreePath, branch: job.branch, baseRef: job.baseRef, worktreesRoot: this.d.worktreesRoot }));
    if (resolution === 'discarded') {
      await discard();
      return;
    }
    if (!this.d.cleanupResolved) return;
    if (resolution === 'merged') await discard();
    else await removeWorktree(job.repo, job.worktreePath, job.branch, { keepBranch: true });
  }

  /**
   * One of CodePlane's own ref changes for this job: the ref guard folds it
   * into other jobs' in-flight turns (RefGuard.ownChange). The job's own
   * branch is always among what it may touch.
   */
  private ownRefChange<T>(job: Job, touches: (ref: string) => boolean, op: () => Promise<T>): Promise<T> {
    return this.d.supervisor.refGuard.ownChange(job.repo, (ref) => ref === `refs/heads/${shortBranch(job.branch)}` || touches(ref), op);
  }

  private async compute(jobId: string, limits: Partial<DiffLimits>): Promise<DiffResult> {
    const job = this.mustGet(jobId);
    if (job.resolution) throw conflict('DIFF_UNAVAILABLE', `the job was ${job.resolution}; its worktree is gone`);
    if (job.state === 'queued' || job.state === 'preparing')
      throw conflict('DIFF_UNAVAILABLE', `the job's worktree is not ready yet (the job is ${job.state})`);
    await assertWorkspace(job, this.d.supervisor.workspaceLost);
    try {
      return await computeDiff({ repoPath: job.repo, worktreePath: job.worktreePath, baseRef: job.baseRef, pool: this.d.pool, limits });
    } catch (e) {
      // A discard (or a merge's cleanup) may remove the worktree while its diff is being computed:
      // git then cannot even start in it. That is the job's state moving on, not a server fault.
      const now = jobsRepo.getJob(this.d.db, jobId);
      if (now?.resolution || this.resolving.has(jobId) || !existsSync(job.worktreePath))
        throw conflict('DIFF_UNAVAILABLE', `the job's worktree went away while its diff was computed (${now?.resolution ? `the job was ${now.resolution}` : 'the job is being resolved'})`);
      throw e;
    }
  }

  private onEvent(e: StoredEvent): void {
    const ev = e.event;
    if (ev.type === 'transcript_update' && ev.entry.role === 'tool_result') this.coalescer.request(e.jobId);
    else if (ev.type === 'job_state_changed' && ev.to === 'review')
      void this.coalescer.flush(e.jobId).catch((err: unknown) => this.d.log.warn({ jobId: e.jobId, err }, 'final diff failed'));
  }

  private mustGet(jobId: string): Job {
    const job = jobsRepo.getJob(this.d.db, jobId);
    if (!job) throw notFound('JOB_NOT_FOUND', `no job ${jobId}`);
    return job;
  }
}
