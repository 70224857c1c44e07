/**
 * 2. Throughput: events per second CodePlane persists and fans out, with one
 * writer and one transaction per batch (what the supervisor does with each
 * IPC batch): EventLog.append on a real database file, with one live
 * subscriber that frames every event for SSE as a connected client would.
 *
 * Baseline: raw better-sqlite3 on the same schema and pragmas (WAL,
 * synchronous=NORMAL): one prepared INSERT per event, one transaction per
 * batch of the same size, the same JSON payloads. Rounds alternate between
 * the two (separate files), each a fixed time in a closed loop; the figure
 * is the median rate over rounds.
 */
import { join } from 'node:path';
import type { SequencedEvent } from '../machines/domain-events.ts';
import { frame } from '../api/sse.ts';
import { benchDir } from './lib/home.ts';
import { row, type BenchContext, type BenchOutcome, type Row } from './lib/report.ts';
import { deltaEvent, openSeedDb, seedJob, seedRepo, type Seeded } from './lib/seed.ts';
import { median } from './lib/stats.ts';

const JOBS = 20;

export async function throughput(ctx: BenchContext): Promise<BenchOutcome> {
  const dir = benchDir('throughput');
  const roundMs = ctx.quick ? 600 : 1500;
  const rounds = ctx.quick ? 2 : 3;
  const cp = prepare(join(dir, 'codeplane.db'));
  const raw = prepare(join(dir, 'raw.db'));
  let framedBytes = 0;
  cp.hub.subscribe({}, (e) => (framedBytes += frame(e).length));
  const insert = raw.db.raw.prepare('INSERT OR IGNORE INTO events (job_id, seq, type, payload, ts) VALUES (?, ?, ?, ?, ?)');
  const rawAppend = raw.db.raw.transaction((jobId: string, events: readonly SequencedEvent[]) => {
    for (const e of events) insert.run(jobId, e.seq, e.event.type, JSON.stringify(e.event), e.ts);
  });

  const rows: Row[] = [];
  const details: Record<string, unknown> = { jobs: JOBS, roundMs, rounds, subscribers: 1 };
  try {
    for (const batch of [50, 1]) {
      const rates: Record<'raw' | 'codeplane', number[]> = { raw: [], codeplane: [] };
      // Warm-up (JIT, page cache), then alternating rounds.
      run(raw, (j, ev) => rawAppend(j, ev), batch, 200);
      run(cp, (j, ev) => void cp.log.append(j, ev), batch, 200);
      for (let r = 0; r < rounds; r++) {
        rates.raw.push(run(raw, (j, ev) => rawAppend(j, ev), batch, roundMs));
        rates.codeplane.push(run(cp, (j, ev) => void cp.log.append(j, ev), batch, roundMs));
        await new Promise((r) => setImmediate(r));
      }
      const c = median(rates.codeplane);
      const b = median(rates.raw);
      details[`batch ${batch}`] = { raw: rates.raw.map(Math.round), codeplane: rates.codeplane.map(Math.round) };
      ctx.log(`throughput: batch ${batch}: codeplane ${Math.round(c)} ev/s, raw ${Math.round(b)} ev/s`);
      rows.push(
        row({
          bench: '2 throughput',
          name: `append + fan-out, batches of ${batch}`,
          measured: c,
          baseline: b,
          unit: 'ev/s',
          goal: batch === 50 ? '≥ 0.50× raw' : 'info',
          status: batch === 50 ? (c >= 0.5 * b ? 'PASS' : 'MISS') : 'INFO',
        }),
      );
    }
    details['framedBytes'] = framedBytes;
    return { rows, details };
  } finally {
    cp.close();
    raw.close();
  }
}

interface Target extends Seeded {
  seqs: number[];
}

function prepare(file: string): Target {
  const s = openSeedDb(file);
  seedRepo(s.db, 'r1', '/bench/repo');
  for (let j = 0; j < JOBS; j++) seedJob(s.db, `j${j}`, 'r1', { state: 'running' });
  return { ...s, seqs: Array.from({ length: JOBS }, () => 0) };
}

/** Appends batches round-robin over the jobs for `ms`; returns events per second. */
function run(t: Target, append: (jobId: string, events: SequencedEvent[]) => void, batch: number, ms: number): number {
  let n = 0;
  let j = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while ((elapsed = performance.now() - t0) < ms) {
    const from = t.seqs[j]!;
    const events = Array.from({ length: batch }, (_, i) => deltaEvent(from + 1 + i));
    append(`j${j}`, events);
    t.seqs[j] = from + batch;
    n += batch;
    j = (j + 1) % JOBS;
  }
  return (n * 1000) / elapsed;
}
