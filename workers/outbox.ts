import type { DraftEvent, SequencedEvent } from '../machines/domain-events.ts';
import { numberEvent } from '../machines/domain-events.ts';

/**
 * Numbers the job's events and keeps every one until the supervisor
 * acknowledges it as persisted, so a supervisor that dies (or a new one that
 * attaches) can be sent exactly what it lacks; seqs make re-sending idempotent.
 */
export class Outbox {
  private unacked: SequencedEvent[] = [];
  private drainWaiters: (() => void)[] = [];

  constructor(
    private nextSeq: number,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {}

  /** Numbers a draft event and holds it until acknowledged. */
  add(draft: DraftEvent): SequencedEvent {
    const seq = this.nextSeq++;
    const numbered: SequencedEvent = { seq, ts: this.now(), event: numberEvent(draft, seq) };
    this.unacked.push(numbered);
    return numbered;
  }

  /** Cumulative: everything up to `seq` is persisted. */
  ack(seq: number): void {
    let drop = 0;
    while (drop < this.unacked.length && this.unacked[drop]!.seq <= seq) drop++;
    if (drop > 0) this.unacked = this.unacked.slice(drop);
    if (this.unacked.length === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  pending(): readonly SequencedEvent[] {
    return this.unacked;
  }

  get size(): number {
    return this.unacked.length;
  }

  get peekNextSeq(): number {
    return this.nextSeq;
  }

  /** Resolves once every event so far is acknowledged. */
  drained(): Promise<void> {
    if (this.unacked.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}
