import { signal, type Signal } from '@preact/signals';
import { checkSession } from '../session.ts';
import { EVENT_TYPES, type WireEvent } from '../types.ts';

export type StreamStatus = 'connecting' | 'live' | 'reconnecting';

export interface EventStreamOptions {
  /** `/api/events` or `/api/events?jobId=…`; `lastEventId` is appended. */
  path: string;
  /** Resume point for the first connection; undefined streams only new events. */
  lastEventId?: number;
  onEvent(e: WireEvent): void;
  /** Called when a connection (re)opens and the client could not resume from a known id. */
  onResync?(): void;
}

/** Ids past the newest stored one make the server stream "from now" (api/sse.ts). */
const FROM_NOW = 999_999_999_999_999;

/**
 * One EventSource that never gives up. The browser reconnects on its own and
 * resends `Last-Event-ID`; when it closes the stream for good (an HTTP error
 * while the server restarts) we open a new one from the last id we saw.
 */
export class EventStream {
  readonly status: Signal<StreamStatus> = signal('connecting');
  lastId: number | undefined;
  private es: EventSource | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;
  private closed = false;
  private opened = false;

  constructor(private readonly opts: EventStreamOptions) {
    this.lastId = opts.lastEventId;
    this.connect();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.es?.close();
    this.es = undefined;
  }

  private url(): string {
    const sep = this.opts.path.includes('?') ? '&' : '?';
    return `${this.opts.path}${sep}lastEventId=${this.lastId ?? FROM_NOW}`;
  }

  private connect(): void {
    if (this.closed) return;
    const es = new EventSource(this.url());
    this.es = es;
    es.onopen = () => {
      this.attempts = 0;
      this.status.value = 'live';
      // The first open, or one without a known id (the replay cannot cover what we missed): reload state.
      if (!this.opened || this.lastId === undefined) this.opts.onResync?.();
      this.opened = true;
    };
    es.onerror = () => {
      this.status.value = 'reconnecting';
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        void checkSession();
        const delay = Math.min(10_000, 1000 * 2 ** this.attempts++);
        this.timer = setTimeout(() => this.connect(), delay);
      }
    };
    const listener = (m: MessageEvent<string>) => this.receive(m);
    for (const type of EVENT_TYPES) es.addEventListener(type, listener);
  }

  private receive(m: MessageEvent<string>): void {
    const id = Number(m.lastEventId);
    if (Number.isFinite(id) && this.lastId !== undefined && id <= this.lastId) return; // never fold twice
    let data: unknown;
    try {
      data = JSON.parse(m.data);
    } catch {
      return;
    }
    if (typeof data !== 'object' || data === null || typeof (data as { jobId?: unknown }).jobId !== 'string') return;
    if (Number.isFinite(id)) this.lastId = id;
    this.opts.onEvent({ ...(data as Omit<WireEvent, 'id'>), type: m.type, id } as WireEvent);
  }
}
