import { appendFileSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import type { DraftEvent, SequencedEvent } from '../machines/domain-events.ts';
import { numberEvent } from '../machines/domain-events.ts';

export interface OutboxOptions {
  now?: () => string;
  /** Where events beyond `maxInMemory` go while no supervisor acknowledges them. */
  spillFile?: string;
  maxInMemory?: number;
}

/**
 * Numbers the job's events and keeps every one until the supervisor
 * acknowledges it as persisted, so a supervisor that dies (or a new one that
 * attaches) can be sent exactly what it lacks; seqs make re-sending
 * idempotent. With no supervisor for a long time, memory stays bounded: the
 * oldest unacknowledged events spill to a file in the job's directory.
 */
export class Outbox {
  private unacked: SequencedEvent[] = [];
  private spilled = 0;
  private spilledUpTo = 0;
  /** Bytes in the spill file: a failed append is cut back to here, so no torn line is ever read back. */
  private spillBytes = 0;
  /** After a failed spill (a full disk) the events stay in memory; the next try waits until this many are held. */
  private spillRetryAt = 0;
  private ackedUpTo = 0;
  private drainWaiters: (() => void)[] = [];
  private readonly now: () => string;
  private readonly maxInMemory: number;

  constructor(
    private nextSeq: number,
    private readonly opts: OutboxOptions = {},
  ) {
    this.now = opts.now ?? isoNow;
    this.maxInMemory = opts.maxInMemory ?? 10_000;
    this.ackedUpTo = nextSeq - 1;
  }

  /** Numbers a draft event and holds it until acknowledged. */
  add(draft: DraftEvent): SequencedEvent {
    const seq = this.nextSeq++;
    const numbered: SequencedEvent = { seq, ts: this.now(), event: numberEvent(draft, seq) };
    this.unacked.push(numbered);
    if (this.opts.spillFile && this.unacked.length > Math.max(this.maxInMemory, this.spillRetryAt)) this.spill(this.opts.spillFile);
    return numbered;
  }

  /** Cumulative: everything up to `seq` is persisted. */
  ack(seq: number): void {
    this.ackedUpTo = Math.max(this.ackedUpTo, seq);
    let drop = 0;
    while (drop < this.unacked.length && this.unacked[drop]!.seq <= seq) drop++;
    if (drop > 0) this.unacked = this.unacked.slice(drop);
    if (this.spilled > 0 && this.spilledUpTo <= seq) {
      rmSync(this.opts.spillFile!, { force: true });
      this.spilled = 0;
      this.spillBytes = 0;
    }
    if (this.size === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Every unacknowledged event, oldest first (reading back what spilled). */
  pending(): readonly SequencedEvent[] {
    if (this.spilled === 0) return this.unacked;
    const fromFile = readFileSync(this.opts.spillFile!, 'utf8')
      .split('\n')
      .filter(Boolean)
      .flatMap((l) => parseLine(l))
      .filter((e) => e.seq > this.ackedUpTo);
    return [...fromFile, ...this.unacked];
  }

  get size(): number {
    const spilledLeft = this.spilled > 0 ? Math.max(0, this.spilledUpTo - this.ackedUpTo) : 0;
    return spilledLeft + this.unacked.length;
  }

  /** Events held in memory (the rest, if any, wait in the spill file). */
  get inMemory(): number {
    return this.unacked.length;
  }

  get peekNextSeq(): number {
    return this.nextSeq;
  }

  /** Resolves once every event so far is acknowledged. */
  drained(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Moves the older half to the spill file. Written before it leaves memory: on a full disk the
   * append fails, the file is cut back to its last whole line, and the events stay in memory
   * (unbounded then, rather than lost), tried again once twice as many are held.
   */
  private spill(file: string): void {
    const half = this.unacked.slice(0, Math.ceil(this.unacked.length / 2));
    const text = half.map((e) => `${JSON.stringify(e)}\n`).join('');
    try {
      appendFileSync(file, text, { mode: 0o600 });
    } catch {
      try {
        truncateSync(file, this.spillBytes);
      } catch {
        // nothing was written, or the file cannot be cut: pending() skips a torn line (its events are still in memory)
      }
      this.spillRetryAt = this.unacked.length * 2;
      return;
    }
    this.spillRetryAt = 0;
    this.spillBytes += Buffer.byteLength(text);
    this.unacked.splice(0, half.length);
    this.spilled += half.length;
    this.spilledUpTo = half[half.length - 1]!.seq;
  }
}

/** One spilled event; a line torn by a failed append is skipped (the events it held never left memory). */
function parseLine(line: string): SequencedEvent[] {
  try {
    return [JSON.parse(line) as SequencedEvent];
  } catch {
    return [];
  }
}

let lastMs = 0;
let lastIso = '';
/** The time as ISO text, formatted once per millisecond (a streaming agent's deltas share most of theirs). */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
