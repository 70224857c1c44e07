import { request, type IncomingMessage } from 'node:http';

export interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/**
 * A real SSE client over node:http that parses the wire format itself, so
 * tests see exactly what a browser's EventSource would.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  retry: number | undefined;
  status = 0;
  private res: IncomingMessage | undefined;
  private waiters: { pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private ended = false;
  private buffer = '';

  static open(url: string, lastEventId?: number, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { Accept: 'text/event-stream', ...headers, ...(lastEventId !== undefined ? { 'Last-Event-ID': String(lastEventId) } : {}) } }, (res) => {
        c.res = res;
        c.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => c.feed(chunk));
        res.on('close', () => {
          c.ended = true;
          for (const w of c.waiters.splice(0)) {
            clearTimeout(w.timer);
            w.reject(new Error('stream closed'));
          }
        });
        resolve(c);
      });
      req.on('error', reject);
      req.end();
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  get lastId(): number {
    return this.events.at(-1)?.id ?? 0;
  }

  /** Resolves with the first event (already received or future) matching `pred`. */
  waitFor(pred: (e: SseEvent) => boolean, timeoutMs = 20_000, what = 'event'): Promise<SseEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${this.events.map((e) => e.event).join(',')}`)), timeoutMs);
      this.waiters.push({ pred, resolve, reject, timer });
    });
  }

  close(): void {
    this.res?.destroy();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let idx: number;
    while ((idx = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, idx);
      this.buffer = this.buffer.slice(idx + 2);
      this.parseBlock(block);
    }
  }

  private parseBlock(block: string): void {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments++;
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'retry') this.retry = Number(value);
    }
    if (data.length === 0) return;
    const e: SseEvent = { id: Number(id), event, data: JSON.parse(data.join('\n')) as Record<string, unknown> };
    this.events.push(e);
    for (const w of [...this.waiters]) {
      if (w.pred(e)) {
        clearTimeout(w.timer);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  }
}
