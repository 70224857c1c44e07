/**
 * The live job workers of this supervisor, by job id: the one place that
 * knows which handle is current, and how to let them all go at shutdown.
 */
import type { WorkerHandle } from './worker-handle.ts';

/** How long workers get to checkpoint (interrupt the agent, keep the session id) before they are killed. */
const SHUTDOWN_GRACE_MS = 5_000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class WorkerRegistry {
  private readonly handles = new Map<string, WorkerHandle>();

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
  }

  /** Resolves once the job has no live worker, or after `timeoutMs`. */
  async gone(jobId: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.get(jobId) && Date.now() < deadline) await pause(50);
  }

  /**
   * `checkpoint`: ask every worker to checkpoint and exit, kill what is left
   * after the grace period. `detach`: let them run on for the next supervisor.
   */
  async closeAll(mode: 'checkpoint' | 'detach'): Promise<void> {
    const live = [...this.handles.values()].filter((w) => w.alive);
    if (mode === 'detach') {
      for (const w of live) w.detach();
      return;
    }
    for (const w of live) w.send({ type: 'shutdown', reason: 'the server stopped' });
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    while (live.some((w) => w.alive) && Date.now() < deadline) await pause(50);
    for (const w of live) w.destroy();
  }
}
