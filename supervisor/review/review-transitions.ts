/**
 * The job-state side of reviewing and landing: a new diff summary and the
 * final resolution become the job's own events — numbered by its worker
 * when one is alive (so they interleave correctly with what the agent
 * emits), appended by the supervisor otherwise.
 */
import type { DiffFileStat, DiffStats } from '../../machines/domain-events.ts';
import type { JobMachineEvent } from '../../machines/job-events.ts';
import type { Resolution } from '../../machines/job-spec.ts';
import type { Job } from '../../api/contract.ts';
import type { Db } from '../db/database.ts';
import * as jobsRepo from '../db/jobs-repo.ts';
import type { WorkerHandle } from '../workers/worker-handle.ts';

/** What these transitions need of the job supervisor. */
export interface JobTransitions {
  worker(jobId: string): WorkerHandle | undefined;
  applyWithoutWorker(jobId: string, event: JobMachineEvent): Job;
}

/** Publishes a diff summary as the job's own event. */
export function publishDiff(jobs: JobTransitions, db: Db, jobId: string, summary: { stats: DiffStats; files: DiffFileStat[] }): void {
  // A worker whose socket is gone (it is dying, or a new supervisor is taking over) cannot number it: record it here.
  if (jobs.worker(jobId)?.send({ type: 'publish_diff', stats: summary.stats, files: summary.files })) return;
  const job = jobsRepo.getJob(db, jobId);
  if (!job || !['running', 'waiting_for_approval', 'review'].includes(job.state)) return;
  jobs.applyWithoutWorker(jobId, { type: 'DIFF.UPDATED', stats: summary.stats, files: summary.files });
}

/** Moves a job in review to completed, through its worker when one is alive; resolves once it is recorded. */
export async function resolveJob(jobs: JobTransitions, db: Db, jobId: string, resolution: Resolution, prUrl?: string): Promise<void> {
  const event = prUrl === undefined ? { type: 'RESOLVE' as const, resolution } : { type: 'RESOLVE' as const, resolution, prUrl };
  const w = jobs.worker(jobId);
  if (!w) {
    jobs.applyWithoutWorker(jobId, event);
    return;
  }
  w.send({ type: 'resolve', resolution, ...(prUrl ? { prUrl } : {}) });
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    if (jobsRepo.getJob(db, jobId)?.state === 'completed') return;
    if (!jobs.worker(jobId)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // The worker died or went silent: record the resolution ourselves.
  if (jobsRepo.getJob(db, jobId)?.state === 'review' && !jobs.worker(jobId)) jobs.applyWithoutWorker(jobId, event);
}
