/**
 * Disk used by each job's worktree, shown on the job. Walking a worktree
 * (with its node_modules or build output) costs real I/O, so measurements
 * are cached, run one at a time, and each walk has a time and entry budget
 * (an incomplete walk says so: `complete: false`, bytes a lower bound).
 */
import { existsSync } from 'node:fs';
import type { Job, JobDiskUsage } from '../../api/contract.ts';
import { diskUsage } from '../git/hygiene.ts';

export interface DiskUsageTrackerOptions {
  /** A measurement younger than this is served from the cache. */
  freshMs?: number;
  /** Budget of one walk. */
  walkTimeoutMs?: number;
}

export class DiskUsageTracker {
  private readonly cache = new Map<string, JobDiskUsage>();
  /** When each cached figure was taken, on the monotonic clock (`measuredAt` is for people; freshness must not follow the wall clock). */
  private readonly takenAt = new Map<string, number>();
  private readonly pending = new Map<string, Promise<JobDiskUsage | undefined>>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly freshMs: number;
  private readonly walkTimeoutMs: number;

  constructor(o: DiskUsageTrackerOptions = {}) {
    this.freshMs = o.freshMs ?? 15_000;
    this.walkTimeoutMs = o.walkTimeoutMs ?? 2_000;
  }

  /** The last measurement, without waiting (listings use this). */
  peek(jobId: string): JobDiskUsage | undefined {
    return this.cache.get(jobId);
  }

  /** A measurement no older than the freshness window; undefined when the job has no worktree on disk. */
  async measure(job: Job): Promise<JobDiskUsage | undefined> {
    const cached = this.cache.get(job.id);
    if (cached && performance.now() - (this.takenAt.get(job.id) ?? -Infinity) < this.freshMs) return cached;
    return this.refresh(job);
  }

  /** Measures again (coalesced per job; walks run one at a time so a burst of jobs cannot flood the disk). */
  refresh(job: Pick<Job, 'id' | 'worktreePath'>): Promise<JobDiskUsage | undefined> {
    const inFlight = this.pending.get(job.id);
    if (inFlight) return inFlight;
    const run = this.queue.then(async () => {
      if (!existsSync(job.worktreePath)) {
        this.cache.delete(job.id);
        this.takenAt.delete(job.id);
        return undefined;
      }
      const u = await diskUsage(job.worktreePath, { timeoutMs: this.walkTimeoutMs });
      const usage: JobDiskUsage = { bytes: u.bytes, complete: u.complete, measuredAt: new Date().toISOString() };
      this.cache.set(job.id, usage);
      this.takenAt.set(job.id, performance.now());
      return usage;
    });
    const settled = run.catch(() => undefined).finally(() => this.pending.delete(job.id));
    this.queue = settled;
    this.pending.set(job.id, settled);
    return settled;
  }

  /** The worktree is gone (resolved and cleaned up): forget it. */
  forget(jobId: string): void {
    this.cache.delete(jobId);
    this.takenAt.delete(jobId);
  }
}

/** The job with its disk usage attached when known. */
export function withDiskUsage(job: Job, usage: JobDiskUsage | undefined): Job {
  return usage ? { ...job, diskUsage: usage } : job;
}
