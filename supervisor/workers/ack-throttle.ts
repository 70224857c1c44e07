/**
 * Acknowledgements to one worker, at most one per interval.
 *
 * WHY: an ack only lets the worker drop persisted events from its outbox
 * (acks are cumulative), but each one is a socket write that wakes the
 * worker process. At hundreds of events a second per job those wake-ups
 * cost more CPU than the events themselves. The first ack after a quiet
 * spell goes out at once (a finishing worker waiting to drain is not held
 * up); the ones that follow within the interval collapse into one.
 */
export const ACK_INTERVAL_MS = 50;

export class AckThrottle {
  private highest = 0;
  private sent = 0;
  private lastSentAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (seq: number) => void,
    private readonly intervalMs = ACK_INTERVAL_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Everything up to `seq` is persisted. */
  ack(seq: number): void {
    this.highest = Math.max(this.highest, seq);
    if (this.timer) return;
    const wait = this.lastSentAt + this.intervalMs - this.now();
    if (wait <= 0) return this.send();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.send();
    }, wait);
    this.timer.unref();
  }

  /** Drops a pending ack (the connection is gone; the next handshake says what is persisted). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private send(): void {
    if (this.highest <= this.sent) return;
    this.sent = this.highest;
    this.lastSentAt = this.now();
    this.write(this.highest);
  }
}
