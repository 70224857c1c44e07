import type { JobState } from '../../machines/job-spec.ts';

/** States that hold a concurrency slot: the agent is (or is about to be) working. */
export const SLOT_STATES: readonly JobState[] = ['preparing', 'running', 'waiting_for_approval'];

export interface SchedulerLimits {
  maxConcurrentJobs: number;
  maxJobsPerRepo: number;
  /** A job waiting for approval longer than this stops holding a slot (a person may be away for hours). */
  approvalHoldsSlotSeconds?: number;
}

/** Whether a job in a slot state still holds its slot, having waited `waitedMs` for approval (wait-clock.ts). */
export function holdsSlot(job: { state: string }, waitedMs: number, limits: SchedulerLimits): boolean {
  if (job.state !== 'waiting_for_approval' || limits.approvalHoldsSlotSeconds === undefined) return true;
  return waitedMs < limits.approvalHoldsSlotSeconds * 1000;
}

export interface SchedulableJob {
  id: string;
  repoId: string;
}

/**
 * FIFO with a global and a per-repository cap. Pure: given the queue (oldest
 * first) and the jobs holding slots, returns the jobs to start now, in order.
 * A job whose repository is full does not block later jobs of other repos.
 */
export function pickJobsToStart(queue: readonly SchedulableJob[], active: readonly SchedulableJob[], limits: SchedulerLimits): SchedulableJob[] {
  const perRepo = new Map<string, number>();
  for (const j of active) perRepo.set(j.repoId, (perRepo.get(j.repoId) ?? 0) + 1);
  let free = limits.maxConcurrentJobs - active.length;
  const picked: SchedulableJob[] = [];
  for (const job of queue) {
    if (free <= 0) break;
    const used = perRepo.get(job.repoId) ?? 0;
    if (used >= limits.maxJobsPerRepo) continue;
    perRepo.set(job.repoId, used + 1);
    picked.push(job);
    free--;
  }
  return picked;
}
