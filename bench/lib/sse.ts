/**
 * A lean SSE client for benchmarks: frames are split on the wire format, and
 * the receipt time is taken once per socket read, before any parsing, so the
 * client's own work does not inflate the latency it measures. A client
 * without `onFrame` only drains its socket (the cheap "extra browser").
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { nowMs } from './stats.ts';

export interface Frame {
  id: number;
  event: string;
  data: string;
}

export interface SseOptions {
  lastEventId?: number;
  onFrame?: (f: Frame, receivedAt: number) => void;
}

export class BenchSse {
  frames = 0;
  bytes = 0;
  lastId = 0;
  private buffer = '';
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;
  private closedFlag = false;

  private constructor(private readonly opts: SseOptions) {}

  static open(url: string, opts: SseOptions = {}): Promise<BenchSse> {
    const c = new BenchSse(opts);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (opts.lastEventId !== undefined) headers['Last-Event-ID'] = String(opts.lastEventId);
      const req = request(url, { headers, agent: false }, (res) => {
        c.res = res;
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`SSE ${url}: HTTP ${res.statusCode}`));
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => c.feed(chunk));
        res.on('close', () => (c.closedFlag = true));
        res.on('error', () => (c.closedFlag = true));
        resolve(c);
      });
      c.req = req;
      req.on('error', (e) => {
        c.closedFlag = true;
        reject(e);
      });
      req.end();
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  close(): void {
    this.res?.destroy();
    this.req?.destroy();
  }

  private feed(chunk: string): void {
    const at = nowMs();
    this.bytes += chunk.length;
    const onFrame = this.opts.onFrame;
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const end = this.buffer.indexOf('\n\n', start);
      if (end < 0) break;
      if (this.buffer.startsWith('id: ', start)) {
        this.frames++;
        const idEnd = this.buffer.indexOf('\n', start);
        const id = Number(this.buffer.slice(start + 4, idEnd));
        this.lastId = id;
        if (onFrame) {
          const block = this.buffer.slice(idEnd + 1, end);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data = data ? `${data}\n${line.slice(6)}` : line.slice(6);
          }
          onFrame({ id, event, data }, at);
        }
      }
      start = end + 2;
    }
    this.buffer = start === 0 ? this.buffer : this.buffer.slice(start);
  }
}

const STAMP = /<t=(\d+\.\d+) i=(\d+)>/g;

/** The `<t=… i=…>` stamps the fake CLI's [[burst]] (and the raw emitter) put in each delta. */
export function stampsIn(data: string): { t: number; i: number }[] {
  const out: { t: number; i: number }[] = [];
  for (const m of data.matchAll(STAMP)) out.push({ t: Number(m[1]), i: Number(m[2]) });
  return out;
}
