/**
 * The durable event log. Every domain event a job emits is one row with a
 * global id (the SSE id, strictly increasing, never reused) and the per-job
 * seq its worker assigned. UNIQUE(job_id, seq) is what makes a worker's
 * re-send after a supervisor crash harmless: INSERT OR IGNORE drops it.
 */
import type { Selectable } from 'kysely';
import type { LogLine, StoredEvent } from '../../api/contract.ts';
import { invalid } from '../../machines/app-error.ts';
import type { DomainEvent, DomainEventType, LogLevel, SequencedEvent, TranscriptEntry } from '../../machines/domain-events.ts';
import type { RawStoredEvent } from '../../api/ports.ts';
import type { Db } from './database.ts';
import type { EventsTable } from './schema.ts';

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const isLogLevel = (v: string): v is LogLevel => (LOG_LEVELS as readonly string[]).includes(v);

/**
 * The payload was decoded at the IPC boundary before it was written, and only
 * this module writes it, so reading it back is a parse, not a second decode.
 */
const parse = (payload: string): DomainEvent => JSON.parse(payload) as DomainEvent;

const toStored = (r: Selectable<EventsTable>): StoredEvent => ({
  id: r.id,
  jobId: r.job_id,
  seq: r.seq,
  ts: r.ts,
  event: parse(r.payload),
});

/**
 * Inserts the events, skipping any (job, seq) already stored, and returns only
 * the rows actually inserted, in insertion (= id) order. Call inside `db.tx`
 * together with whatever must commit with them (the projection).
 */
export function insertEvents(db: Db, jobId: string, events: readonly SequencedEvent[]): StoredEvent[] {
  // The hottest statement in CodePlane (every streamed delta): fixed SQL, prepared once, no query building.
  const insert = db.statement('INSERT OR IGNORE INTO events (job_id, seq, type, payload, ts) VALUES (?, ?, ?, ?, ?)');
  const inserted: StoredEvent[] = [];
  for (const e of events) {
    const { changes, lastInsertRowid } = insert.run(jobId, e.seq, e.event.type, JSON.stringify(e.event), e.ts);
    if (changes === 1) inserted.push({ id: Number(lastInsertRowid), jobId, seq: e.seq, ts: e.ts, event: e.event });
  }
  return inserted;
}

/**
 * The text of the agent message being streamed right now: the deltas after
 * the newest complete agent message or tool call ('' when none is in flight).
 * Lets a page opened mid-message show it whole, not from the next delta on.
 */
export function inFlightText(db: Db, jobId: string, maxDeltas = 5000): string {
  const pieces: string[] = [];
  for (const e of transcript(db, jobId, { limit: maxDeltas, includeDeltas: true })) {
    if (e.role !== 'agent_delta') {
      if (e.role === 'agent' || e.role === 'tool_call') break;
      continue;
    }
    pieces.push(e.text ?? '');
  }
  return pieces.reverse().join('');
}

/** Raises the job's acknowledgement point (`last_seq`) to `seq` (never lowers it). */
export function advanceLastSeq(db: Db, jobId: string, seq: number): void {
  db.statement('UPDATE jobs SET last_seq = max(last_seq, ?) WHERE id = ?').run(seq, jobId);
}

/** Events with id > afterId, ascending by id, at most `limit`; of one job when `jobId` is given. */
export function readAfter(db: Db, afterId: number, opts: { jobId?: string; limit: number }): StoredEvent[] {
  let q = db.q.selectFrom('events').selectAll().where('id', '>', afterId);
  if (opts.jobId !== undefined) q = q.where('job_id', '=', opts.jobId);
  return db.all(q.orderBy('id').limit(Math.max(0, Math.trunc(opts.limit)))).map(toStored);
}

/** Like readAfter, undecoded, on fixed prepared statements (SSE replay: the row becomes the frame as is). */
export function readRawAfter(db: Db, afterId: number, opts: { jobId?: string; limit: number }): RawStoredEvent[] {
  const limit = Math.max(0, Math.trunc(opts.limit));
  const cols = 'SELECT id, job_id AS jobId, seq, ts, type, payload FROM events';
  return (opts.jobId === undefined
    ? db.statement(`${cols} WHERE id > ? ORDER BY id LIMIT ?`).all(afterId, limit)
    : db.statement(`${cols} WHERE id > ? AND job_id = ? ORDER BY id LIMIT ?`).all(afterId, opts.jobId, limit)) as RawStoredEvent[];
}

/** The newest event of one type for a job (e.g. its latest diff summary), if any. */
export function latestOfType(db: Db, jobId: string, type: DomainEventType): StoredEvent | undefined {
  const row = db.get(db.q.selectFrom('events').selectAll().where('job_id', '=', jobId).where('type', '=', type).orderBy('seq', 'desc').limit(1));
  return row ? toStored(row) : undefined;
}

/** The job's newest `limit` events of one type, oldest first (an index on job, type, seq serves it). */
export function ofType(db: Db, jobId: string, type: DomainEventType, limit: number): StoredEvent[] {
  const rows = db.all(db.q.selectFrom('events').selectAll().where('job_id', '=', jobId).where('type', '=', type).orderBy('seq', 'desc').limit(limit));
  return rows.map(toStored).reverse();
}

/** The newest global event id, 0 when the log is empty. */
export function maxEventId(db: Db): number {
  const row = db.get(db.q.selectFrom('events').select((eb) => eb.fn.max('id').as('max')));
  return row?.max ?? 0;
}

/**
 * Transcript entries of a job, newest first, with seq < beforeSeq when given
 * (the next older page starts below the last seq of this one). Streaming
 * `agent_delta` entries are left out unless asked for: each message's final
 * text is stored as its own `agent` entry, so deltas are only for live display.
 */
export function transcript(
  db: Db,
  jobId: string,
  opts: { beforeSeq?: number; limit: number; includeDeltas?: boolean },
): TranscriptEntry[] {
  let q = db.q
    .selectFrom('events')
    .select('payload')
    .where('job_id', '=', jobId)
    .where('type', '=', 'transcript_update');
  if (opts.beforeSeq !== undefined) q = q.where('seq', '<', opts.beforeSeq);
  if (!opts.includeDeltas) q = q.where((eb) => eb(eb.fn('json_extract', ['payload', eb.val('$.entry.role')]), '!=', 'agent_delta'));
  const rows = db.all(q.orderBy('seq', 'desc').limit(Math.max(0, Math.trunc(opts.limit))));
  const entries: TranscriptEntry[] = [];
  for (const r of rows) {
    const e = parse(r.payload);
    if (e.type === 'transcript_update') entries.push(e.entry);
  }
  return entries;
}

/**
 * Log lines of a job at `level` or above (debug < info < warn < error), newest
 * first, with seq < beforeSeq when given. An unknown level is a 400 INVALID_LEVEL.
 */
export function logLines(db: Db, jobId: string, opts: { level?: string; limit: number; beforeSeq?: number }): LogLine[] {
  let q = db.q.selectFrom('events').select(['seq', 'ts', 'payload']).where('job_id', '=', jobId).where('type', '=', 'log_line');
  if (opts.level !== undefined) {
    const level = opts.level;
    if (!isLogLevel(level)) throw invalid('INVALID_LEVEL', `unknown level "${level}"`, 'level');
    const levels = LOG_LEVELS.slice(LOG_LEVELS.indexOf(level));
    // Filtering in SQL keeps `limit` exact: a page is `limit` matching lines, not `limit` rows scanned.
    q = q.where((eb) => eb(eb.fn('json_extract', ['payload', eb.val('$.level')]), 'in', levels));
  }
  if (opts.beforeSeq !== undefined) q = q.where('seq', '<', opts.beforeSeq);
  const rows = db.all(q.orderBy('seq', 'desc').limit(Math.max(0, Math.trunc(opts.limit))));
  const lines: LogLine[] = [];
  for (const r of rows) {
    const e = parse(r.payload);
    if (e.type === 'log_line') lines.push({ seq: r.seq, ts: r.ts, level: e.level, message: e.message });
  }
  return lines;
}
