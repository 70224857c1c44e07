/**
 * The live job workers of this supervisor, by job id: the one place that
 * knows which handle is current, and how to let them all go at shutdown.
 */
import type { WorkerHandle } from './worker-handle.ts';

/** How long workers get to checkpoint (interrupt the agent, keep the session id) before they are killed. */
const SHUTDOWN_GRACE_MS = 5_000;

/** Recorded in the job's log when its parked worker has exited. */
export const PARKED_NOTE = 'The job was idle in review: its worker and agent CLI were stopped to free memory. The agent session is kept; the next message resumes it.';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class WorkerRegistry {
  private readonly handles = new Map<string, WorkerHandle>();
  /**
   * Workers asked to stop because their job idled in review. They are no longer the job's
   * worker (commands go supervisor-side, or to a new worker once this one is gone), but until
   * they exit they still hold the job's socket path and agent session.
   */
  private readonly parking = new Map<string, WorkerHandle>();

  /** The job's worker if it is alive. */
  get(jobId: string): WorkerHandle | undefined {
    const w = this.handles.get(jobId);
    return w?.alive ? w : undefined;
  }

  set(jobId: string, handle: WorkerHandle): void {
    this.handles.set(jobId, handle);
  }

  /** Forgets `handle` if it is still the job's current one (a replacement may already be registered). */
  release(jobId: string, handle: WorkerHandle): void {
    if (this.handles.get(jobId) === handle) this.handles.delete(jobId);
    if (this.parking.get(jobId) === handle) this.parking.delete(jobId);
  }

  /**
   * Parks every live worker idle for `idleMs` whose job `mayPark` accepts: it checkpoints
   * (closes the agent session, keeping its id) and exits. Returns the job ids.
   */
  parkIdle(idleMs: number, mayPark: (jobId: string) => boolean, reason: string): string[] {
    const now = performance.now();
    const parked: string[] = [];
    for (const [jobId, w] of this.handles) {
      if (!w.alive || w.idleMs(now) < idleMs || !mayPark(jobId)) continue;
      if (!w.park(reason)) continue;
      this.handles.delete(jobId);
      this.parking.set(jobId, w);
      parked.push(jobId);
    }
    return parked;
  }

  /**
   * Resolves once a parked worker of the job is released: it exited and its exit was handled
   * (the supervisor's note is recorded), so a new worker may take over. Killed after the
   * checkpoint grace.
   */
  async parkedGone(jobId: string): Promise<void> {
    const w = this.parking.get(jobId);
    if (!w) return;
    const stillParked = () => this.parking.get(jobId) === w;
    const deadline = performance.now() + SHUTDOWN_GRACE_MS;
    while (stillParked() && performance.now() < deadline) await pause(20);
    if (stillParked()) w.destroy();
    while (stillParked() && performance.now() < deadline + 3_000) await pause(20);
  }

  /** Resolves once the job has no live or parked worker, or after `timeoutMs`. */
  async gone(jobId: string, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while ((this.get(jobId) || this.parking.has(jobId)) && performance.now() < deadline) await pause(50);
  }

  /**
   * `checkpoint`: ask every worker to checkpoint and exit, kill what is left
   * after the grace period. `detach`: let them run on for the next supervisor.
   */
  async closeAll(mode: 'checkpoint' | 'detach'): Promise<void> {
    const live = [...this.handles.values(), ...this.parking.values()].filter((w) => w.alive);
    if (mode === 'detach') {
      for (const w of live) w.detach();
      return;
    }
    for (const w of live) w.send({ type: 'shutdown', reason: 'the server stopped' });
    const deadline = performance.now() + SHUTDOWN_GRACE_MS;
    while (live.some((w) => w.alive) && performance.now() < deadline) await pause(50);
    for (const w of live) w.destroy();
  }
}
