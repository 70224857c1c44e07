/**
 * The one way events enter the system: append to the durable log, update the
 * read model, and only then tell live subscribers. Persist-then-publish means
 * nothing is ever shown that a reconnecting client could not replay.
 */
import type { StoredEvent } from '../api/contract.ts';
import type { SequencedEvent } from '../machines/domain-events.ts';
import type { Db } from './db/database.ts';
import type { RawStoredEvent } from '../api/ports.ts';
import { advanceLastSeq, insertEvents, maxEventId, readAfter, readRawAfter } from './db/events-repo.ts';
import type { EventHub } from './event-hub.ts';
import { applyEvent } from './projection.ts';

export class EventLog {
  constructor(
    private readonly db: Db,
    private readonly hub: EventHub,
  ) {}

  /**
   * Stores the events of one job in one transaction with their projection and
   * returns the ones that were new. Idempotent: seqs already stored are skipped,
   * so a worker may re-send its whole unacknowledged outbox. Publishes the new
   * ones after the commit; if the transaction throws, nothing was stored and
   * nothing is published.
   */
  append(jobId: string, events: readonly SequencedEvent[]): StoredEvent[] {
    if (events.length === 0) return [];
    const fresh = this.db.tx(() => {
      const inserted = insertEvents(this.db, jobId, events);
      for (const stored of inserted) applyEvent(this.db, stored);
      // The acknowledgement point for a (re)attaching worker, once per batch rather than per event.
      if (inserted.length > 0) advanceLastSeq(this.db, jobId, inserted.reduce((m, e) => Math.max(m, e.seq), 0));
      return inserted;
    });
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

  /** The newest stored event id (0 when none): where a fresh page starts following. */
  lastEventId(): number {
    return maxEventId(this.db);
  }
}
