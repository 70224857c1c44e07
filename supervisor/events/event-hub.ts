/**
 * In-memory fan-out of newly stored events to live subscribers (SSE streams,
 * the console printer, Web Push). It holds no history: a subscriber that
 * needs the past reads it from the EventLog. Because publishing happens
 * synchronously right after a commit, a subscriber that subscribes and then
 * reads the log in the same tick sees every event exactly once (after dedup
 * by id).
 */
import type { StoredEvent } from '../../api/contract.ts';

export type EventListener = (e: StoredEvent) => void;
export interface EventFilter {
  jobId?: string;
}

export interface EventHubOptions {
  /** Called when a listener throws; the other listeners still get the event. */
  onListenerError?: (err: unknown, e: StoredEvent) => void;
}

export class EventHub {
  /** Subscribers to every job. */
  private readonly everyJob = new Set<EventListener>();
  /** Subscribers to one job, indexed so a publish costs O(its subscribers), not O(all). */
  private readonly byJob = new Map<string, Set<EventListener>>();
  private readonly onListenerError: (err: unknown, e: StoredEvent) => void;

  constructor(opts: EventHubOptions = {}) {
    this.onListenerError =
      opts.onListenerError ?? ((err, e) => console.error(`event listener failed on event ${e.id} (${e.event.type}):`, err));
  }

  /** Returns the unsubscribe function (idempotent). */
  subscribe(filter: EventFilter, listener: EventListener): () => void {
    // Wrap so the same function subscribed twice is two subscriptions, each removable on its own.
    const sub: EventListener = (e) => listener(e);
    const { jobId } = filter;
    let set = this.everyJob;
    if (jobId !== undefined) {
      set = this.byJob.get(jobId) ?? new Set();
      this.byJob.set(jobId, set);
    }
    set.add(sub);
    return () => {
      set.delete(sub);
      if (jobId !== undefined && set.size === 0 && this.byJob.get(jobId) === set) this.byJob.delete(jobId);
    };
  }

  /** Delivers each event, in the order given, to every matching listener. */
  publish(events: readonly StoredEvent[]): void {
    for (const e of events) {
      // Snapshot the listeners: one may unsubscribe (or subscribe) while being called.
      const targets = [...this.everyJob, ...(this.byJob.get(e.jobId) ?? [])];
      for (const listener of targets) {
        try {
          listener(e);
        } catch (err) {
          this.onListenerError(err, e);
        }
      }
    }
  }

  /** Number of live subscriptions (for tests and diagnostics). */
  get size(): number {
    let n = this.everyJob.size;
    for (const s of this.byJob.values()) n += s.size;
    return n;
  }
}
