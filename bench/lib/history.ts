/**
 * The server with a long history, shared by the replay and UI benchmarks: a
 * home whose database is seeded (through the real EventLog) with one job of
 * 20,000 transcript entries (for the UI) and then one job of 100,000 streamed
 * deltas (for replay), both finished, served by the real server.
 */
import { join } from 'node:path';
import { benchDir, makeHome, makeRepo } from './home.ts';
import { profileEnv } from './profile.ts';
import type { BenchContext } from './report.ts';
import { appendMany, deltaEvent, homeDb, openSeedDb, seedJob, seedRepo, transcriptEvent } from './seed.ts';
import { startBenchServer, type BenchServer } from './server.ts';
import type { SequencedEvent } from '../../machines/domain-events.ts';

export const UI_JOB = 'jbenchui';
export const UI_ENTRIES = 20_000;
export const UI_MARKER = 'BENCH-LAST-ENTRY';
export const REPLAY_JOB = 'jbenchreplay';

export interface History {
  server: BenchServer;
  /** Where the server writes CPU profiles (with --profile). */
  spool: string;
  home: string;
  db: string;
  /** Replay: the events with ids in (replayFromId, replayToId] are the replay job's. */
  replayFromId: number;
  replayToId: number;
  replayEvents: number;
  seedSeconds: number;
}

let history: Promise<History> | undefined;

export function getHistory(ctx: BenchContext): Promise<History> {
  history ??= (async () => {
    const dir = benchDir('history');
    const home = makeHome(dir);
    const repo = makeRepo(dir);
    const replayEvents = ctx.quick ? 30_000 : 100_000;
    const t0 = performance.now();
    const s = openSeedDb(homeDb(home));
    let replayFromId: number;
    let replayToId: number;
    try {
      seedRepo(s.db, 'rbench', repo);
      seedJob(s.db, UI_JOB, 'rbench', { state: 'completed', prompt: 'A long session: 20,000 transcript entries' });
      seedJob(s.db, REPLAY_JOB, 'rbench', { state: 'completed', prompt: 'A streamed answer of 100,000 deltas' });
      const last = (seq: number): SequencedEvent =>
        seq === UI_ENTRIES ? { seq, ts: new Date().toISOString(), event: { type: 'transcript_update', entry: { seq, role: 'agent', text: `All done. ${UI_MARKER}` } } } : transcriptEvent(seq);
      appendMany(s.log, UI_JOB, UI_ENTRIES, last);
      replayFromId = s.log.lastEventId();
      appendMany(s.log, REPLAY_JOB, replayEvents, (seq) => deltaEvent(seq));
      replayToId = s.log.lastEventId();
    } finally {
      s.close();
    }
    const seedSeconds = (performance.now() - t0) / 1000;
    ctx.log(`history: seeded ${UI_ENTRIES + replayEvents} events in ${seedSeconds.toFixed(1)} s`);
    const spool = join(ctx.profileDir ?? dir, 'spool-history');
    const server = await startBenchServer({ home, cwd: repo, ...(ctx.profileDir ? { env: profileEnv(spool) } : {}) });
    return { server, home, db: homeDb(home), replayFromId, replayToId, replayEvents, seedSeconds, spool };
  })();
  return history;
}

export async function stopHistory(): Promise<void> {
  const h = history;
  history = undefined;
  if (h) await (await h.catch(() => undefined))?.server.stop();
}
