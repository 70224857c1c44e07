import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type { StoredEvent } from './contract.ts';
import type { EventsPort, RawStoredEvent } from './ports.ts';

export interface SseOptions {
  jobId?: string;
  lastEventId: number;
  heartbeatMs?: number;
  /** Bytes queued for one client before it counts as behind (it is cut off if it stays behind, then reconnects and replays). */
  maxBufferedBytes?: number;
  /** How long a client may stay behind before it is cut off. */
  slowClientMs?: number;
  replayPageSize?: number;
  /** What this stream shows of each event (a share's projection), undefined to leave one out; the events as stored when absent. */
  project?: (e: StoredEvent) => StoredEvent | undefined;
}

/** Each stored event is one immutable object shared by every subscriber: serialize it once for all of them. */
const frames = new WeakMap<StoredEvent, string>();

/**
 * The frame of a stored row, byte for byte what `frame` gives for the decoded event: the payload
 * is the event's own JSON, and the envelope keys (which no event has at its top level) follow it.
 */
export const rawFrame = (r: RawStoredEvent): string =>
  `id: ${r.id}\nevent: ${r.type}\ndata: ${r.payload.slice(0, -1)},"jobId":${JSON.stringify(r.jobId)},"ts":${JSON.stringify(r.ts)},"seq":${r.seq}}\n\n`;

export const frame = (e: StoredEvent): string => {
  let f = frames.get(e);
  if (f === undefined) {
    f = `id: ${e.id}\nevent: ${e.event.type}\ndata: ${JSON.stringify({ ...e.event, jobId: e.jobId, ts: e.ts, seq: e.seq })}\n\n`;
    frames.set(e, f);
  }
  return f;
};

/**
 * The bytes of one turn's live frames, shared by every client that has the
 * same events to send in that turn (with 50 browsers following every job,
 * the same frames were turned into bytes 50 times). Kept for one turn only.
 */
const turnBytes = new Map<string, Buffer>();

function liveBytes(filterKey: string, batch: readonly StoredEvent[]): Buffer {
  // Same filter, same first and last id, same count: the same published events (ids only grow).
  const key = `${filterKey}|${batch[0]!.id}|${batch[batch.length - 1]!.id}|${batch.length}`;
  let bytes = turnBytes.get(key);
  if (bytes === undefined) {
    if (turnBytes.size === 0) setImmediate(() => turnBytes.clear()); // after this turn's flushes
    bytes = Buffer.from(batch.length === 1 ? frame(batch[0]!) : batch.map(frame).join(''), 'utf8');
    turnBytes.set(key, bytes);
  }
  return bytes;
}

/**
 * Streams stored events after `lastEventId`, then live ones, with no gap and
 * no duplicate: we subscribe BEFORE replaying, queue what arrives meanwhile,
 * and drop anything at or below the last id written.
 */
export function streamEvents(ctx: Context, events: EventsPort, opts: SseOptions): void {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const maxBuffered = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
  // Small pages: the replay yields to other requests between them.
  const pageSize = opts.replayPageSize ?? 500;
  const slowClientMs = opts.slowClientMs ?? 10_000;
  // Past this, memory matters more than patience: cut at once.
  const hardLimit = maxBuffered * 16;
  const filter = opts.jobId === undefined ? {} : { jobId: opts.jobId };

  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.status = 200;
  ctx.set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  const stream = new PassThrough({ highWaterMark: 64 * 1024 });
  ctx.body = stream;

  // An id beyond the newest stored one comes from another database (a reset home): stream from now
  // rather than silently dropping every future event as "already seen".
  let cursor = Math.min(opts.lastEventId, events.lastEventId());
  let live = false;
  let closed = false;
  let behindSince: number | undefined;
  const queued: StoredEvent[] = [];

  const close = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(heartbeat);
    stream.end();
  };
  /** A client that cannot keep up is cut off rather than allowed to grow our memory or stall others. */
  const cutOff = () => {
    close();
    ctx.res.destroy();
  };
  /** A client is slow when its queue stays over the limit, not when one large event passes through. */
  const checkPace = () => {
    if (!live || closed) return;
    const queuedBytes = stream.writableLength;
    if (queuedBytes <= maxBuffered) behindSince = undefined;
    else if (queuedBytes > hardLimit) cutOff();
    else if (behindSince === undefined) behindSince = performance.now(); // monotonic: a clock change neither cuts nor spares a client
    else if (performance.now() - behindSince > slowClientMs) cutOff();
  };
  // Frames written in one turn of the event loop go out as one write: a busy job's IPC batch,
  // fanned out to many clients, costs one socket write per client instead of one per event.
  let pending = '';
  let batch: StoredEvent[] = [];
  // A projected stream's bytes differ from the stored events': never shared with an unprojected stream's.
  const filterKey = `${opts.project ? 'projected:' : ''}${opts.jobId ?? '*'}`;
  const project = opts.project;
  const flush = () => {
    const out = pending;
    const live = batch;
    pending = '';
    batch = [];
    if (closed) return;
    if (out !== '') stream.write(out);
    if (live.length > 0) stream.write(liveBytes(filterKey, live));
    if (out !== '' || live.length > 0) checkPace();
  };
  const write = (stored: StoredEvent) => {
    if (closed || stored.id <= cursor) return;
    cursor = stored.id;
    const e = project ? project(stored) : stored;
    if (e === undefined) return;
    if (batch.length === 0 && pending === '') setImmediate(flush);
    batch.push(e);
  };

  const unsubscribe = events.subscribe(filter, (e) => (live ? write(e) : queued.push(e)));
  const heartbeat = setInterval(() => {
    if (closed) return;
    stream.write(': heartbeat\n\n');
    checkPace();
  }, heartbeatMs);
  stream.on('drain', () => (behindSince = undefined));
  heartbeat.unref();
  ctx.req.once('close', close);
  stream.once('error', close);
  stream.write('retry: 2000\n\n');

  void (async () => {
    for (;;) {
      const page = project ? events.readAfter(cursor, { ...filter, limit: pageSize }) : events.readRawAfter(cursor, { ...filter, limit: pageSize });
      for (const r of page) {
        if (r.id <= cursor) continue;
        cursor = r.id;
        if (!project) pending += rawFrame(r as RawStoredEvent);
        else {
          const e = project(r as StoredEvent);
          if (e) pending += frame(e);
        }
      }
      flush(); // a replay page is one write, and its size counts for the pace check below
      if (closed) return;
      if (page.length < pageSize) break;
      // A long replay yields to other requests and waits for this client to read.
      if (stream.writableLength > maxBuffered) await waitForDrain(stream);
      else await new Promise((r) => setImmediate(r));
    }
    for (const e of queued.splice(0)) write(e);
    live = true;
  })().catch(cutOff);
}

function waitForDrain(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}

/** `Last-Event-ID` header wins over `?lastEventId=`; anything not a non-negative integer is refused by the caller. */
export function parseLastEventId(header: string | undefined, query: unknown): number | 'invalid' {
  const raw = header ?? (typeof query === 'string' ? query : undefined);
  if (raw === undefined || raw === '') return 0;
  if (!/^\d{1,15}$/.test(raw.trim())) return 'invalid';
  return Number(raw.trim());
}
