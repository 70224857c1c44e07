/**
 * The one way events enter the system: append to the durable log, update the
 * read model, and only then tell live subscribers. Persist-then-publish means
 * nothing is ever shown that a reconnecting client could not replay.
 */
import type { Redactor } from '../../machines/redact.ts';
import type { StoredEvent } from '../../api/contract.ts';
import type { SequencedEvent } from '../../machines/domain-events.ts';
import type { Db } from '../db/database.ts';
import type { RawStoredEvent } from '../../api/ports.ts';
import { advanceLastSeq, insertEvents, maxEventId, readAfter, readRawAfter } from '../db/events-repo.ts';
import type { EventHub } from './event-hub.ts';
import { applyEvent } from './projection.ts';
import { getLastSeq } from '../db/jobs-repo.ts';

/** A worker's batch waiting for the next group commit. */
interface PendingBatch {
  jobId: string;
  events: readonly SequencedEvent[];
  /** After the commit (with the events that were new); an acknowledgement goes out from here. */
  committed(fresh: StoredEvent[]): void;
}

export class EventLog {
  private pending: PendingBatch[] = [];
  private flushScheduled = false;
  /**
   * Jobs with a batch that could not be stored: their later batches would leave a gap, so they
   * are neither stored nor acknowledged until the worker re-sends from the last stored seq
   * (onError asks it to).
   */
  private readonly blocked = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly hub: EventHub,
    private readonly onError: (jobId: string, error: unknown) => void = () => undefined,
    /**
     * Applied to the events the server writes itself (`append`: job creation, setup command
     * output, a lost worker's reason), as the workers apply it to theirs before they send them.
     */
    private readonly redactor?: Redactor,
  ) {}

  /**
   * Group commit: batches that arrive from many workers in one turn of the
   * event loop are stored in ONE transaction at the end of the turn (a commit
   * per IPC message cost more than the inserts under load). Nothing is
   * published or acknowledged before its commit, and any synchronous append
   * or flush() stores what is queued first, so per-job order is kept.
   */
  enqueue(jobId: string, events: readonly SequencedEvent[], committed: PendingBatch['committed']): void {
    if (events.length === 0) return committed([]);
    this.pending.push({ jobId, events, committed });
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Stores every queued batch now (before a decision that reads the job's state or seq). */
  flush(): void {
    if (this.pending.length === 0) return;
    const batches = this.pending.filter((b) => this.admits(b));
    this.pending = [];
    if (batches.length === 0) return;
    let done: readonly PendingBatch[] = batches;
    let results: StoredEvent[][];
    try {
      results = this.db.tx(() => batches.map((b) => this.store(b.jobId, b.events)));
    } catch {
      // One bad batch must not cost the others their commit: store them one by one.
      const ok: PendingBatch[] = [];
      results = [];
      for (const b of batches) {
        if (this.blocked.has(b.jobId)) continue; // after its job's failed batch: would leave a gap
        try {
          results.push(this.db.tx(() => this.store(b.jobId, b.events)));
          ok.push(b);
        } catch (e) {
          this.blocked.add(b.jobId);
          this.onError(b.jobId, e); // not acknowledged: the worker keeps the events
        }
      }
      done = ok;
    }
    this.finish(done, results);
  }

  /**
   * Stores the events of one job in one transaction with their projection and
   * returns the ones that were new. Idempotent: seqs already stored are skipped,
   * so a worker may re-send its whole unacknowledged outbox. Publishes the new
   * ones after the commit; if the transaction throws, nothing was stored and
   * nothing is published.
   */
  append(jobId: string, events: readonly SequencedEvent[]): StoredEvent[] {
    this.flush();
    if (events.length === 0) return [];
    const redactor = this.redactor;
    const redacted = redactor ? events.map((e) => ({ ...e, event: redactor.value(e.event) })) : events;
    const fresh = this.db.tx(() => this.store(jobId, redacted));
    // insertEvents returns them in insertion order, which is id order.
    if (fresh.length > 0) this.hub.publish(fresh);
    return fresh;
  }

  /** Stored events with id > afterId, ascending, at most `limit` (for SSE replay). */
  readAfter(afterId: number, opts: { jobId?: string; limit: number }): StoredEvent[] {
    return readAfter(this.db, afterId, opts);
  }

  /** The same, undecoded (see EventsPort.readRawAfter). */
  readRawAfter(afterId: number, opts: { jobId?: string; limit: number }): RawStoredEvent[] {
    return readRawAfter(this.db, afterId, opts);
  }

  /** A blocked job's batch is admitted again once it continues from the last stored seq (the worker's re-send). */
  private admits(b: PendingBatch): boolean {
    if (!this.blocked.has(b.jobId)) return true;
    if (b.events[0]!.seq > getLastSeq(this.db, b.jobId) + 1) return false;
    this.blocked.delete(b.jobId);
    return true;
  }

  private store(jobId: string, events: readonly SequencedEvent[]): StoredEvent[] {
    const inserted = insertEvents(this.db, jobId, events);
    for (const stored of inserted) applyEvent(this.db, stored);
    // The acknowledgement point for a (re)attaching worker, once per batch rather than per event.
    if (inserted.length > 0) advanceLastSeq(this.db, jobId, inserted.reduce((m, e) => Math.max(m, e.seq), 0));
    return inserted;
  }

  private finish(batches: readonly PendingBatch[], results: readonly StoredEvent[][]): void {
    const fresh = results.flat();
    if (fresh.length > 0) this.hub.publish(fresh);
    batches.forEach((b, i) => b.committed(results[i]!));
  }

  /** Jobs whose worker holds events the database refused (they are re-sent once writes work: supervisor resync). */
  blockedJobs(): string[] {
    return [...this.blocked];
  }

  isBlocked(jobId: string): boolean {
    return this.blocked.has(jobId);
  }

  /** The newest stored event id (0 when none): where a fresh page starts following. */
  lastEventId(): number {
    return maxEventId(this.db);
  }
}
