/**
 * Asks workers to re-send their unacknowledged events (by re-handshaking with
 * the last stored seq) after a batch of theirs could not be stored (see
 * EventLog's blocked jobs). At most once a second per job, with one trailing
 * retry: while the database refuses writes (a full disk) every re-send fails
 * again, and a tight loop would only burn the CPU.
 */
export class WorkerResync {
  private readonly active = new Map<string, { again: boolean }>();

  constructor(
    private readonly reconnect: (jobId: string) => Promise<void> | undefined,
    private readonly warn: (jobId: string, error: unknown) => void,
    private readonly cooldownMs = 1000,
  ) {}

  request(jobId: string): void {
    const current = this.active.get(jobId);
    if (current) {
      current.again = true;
      return;
    }
    const attempt = this.reconnect(jobId);
    if (!attempt) return; // no live worker: the next one starts from the last stored seq anyway
    const state = { again: false };
    this.active.set(jobId, state);
    void attempt
      .catch((e: unknown) => this.warn(jobId, e))
      .finally(() => {
        setTimeout(() => {
          this.active.delete(jobId);
          if (state.again) this.request(jobId);
        }, this.cooldownMs).unref();
      });
  }
}
