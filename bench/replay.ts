/**
 * 5. Replay: a client reconnecting 100,000 events behind (Last-Event-ID) gets
 * them all; events per second from the request until the last one arrived.
 * Goal: ≥ 100,000 events/s. Baseline (ratio): a bare server reading the same
 * database file and writing the stored payloads as frames (bench/lib/raw-replay.ts).
 *
 * Meanwhile another client requests CodePlane's GET /api/health back to back:
 * its p99 during CodePlane's replay says whether the server stays responsive
 * (goal: under 50 ms); the baseline is the same probe during the raw replay
 * (same machine load, CodePlane idle).
 */
import { firstJsonLine, spawnHelper, stopChild } from './lib/children.ts';
import { getHistory } from './lib/history.ts';
import { startProfiling, stopProfiling } from './lib/profile.ts';
import { row, type BenchContext, type BenchOutcome } from './lib/report.ts';
import { timedGet } from './lib/server.ts';
import { BenchSse } from './lib/sse.ts';
import { median, sleep, summarize } from './lib/stats.ts';

export async function replay(ctx: BenchContext): Promise<BenchOutcome> {
  const h = await getHistory(ctx);
  const raw = spawnHelper('raw-replay.ts', [h.db]);
  const { port } = await firstJsonLine<{ port: number }>(raw);
  const rawUrl = `http://127.0.0.1:${port}/events`;
  const cpUrl = `${h.server.url}/api/events`;
  const health = `${h.server.url}/api/health`;
  const rounds = 2;
  try {
    const rates: Record<'raw' | 'codeplane', number[]> = { raw: [], codeplane: [] };
    const during: number[] = [];
    const idle: number[] = [];
    for (let i = 0; i < 5; i++) await timedGet(health); // warm-up
    for (let r = 0; r < rounds; r++) {
      rates.raw.push(await replayOnce(rawUrl, idle));
      if (ctx.profileDir) startProfiling(h.home, h.server.pid);
      rates.codeplane.push(await replayOnce(cpUrl, during));
      if (ctx.profileDir) await stopProfiling(h.home, h.server.pid, h.spool, ctx.profileDir, 'replay');
    }
    const c = median(rates.codeplane);
    const b = median(rates.raw);
    const busy = summarize(during);
    const calm = summarize(idle);
    ctx.log(`replay: codeplane ${Math.round(c)} ev/s, raw ${Math.round(b)} ev/s; /api/health p99 ${busy.p99.toFixed(1)} ms during replay (${calm.p99.toFixed(1)} ms during the raw one)`);
    return {
      rows: [
        row({ bench: '5 replay', name: `${h.replayEvents.toLocaleString('en-US')} events behind, rate`, measured: c, baseline: b, unit: 'ev/s', goal: '≥ 100,000 ev/s', status: c >= 100_000 ? 'PASS' : 'MISS', note: `rounds: codeplane ${rates.codeplane.map(Math.round).join(', ')}; raw ${rates.raw.map(Math.round).join(', ')} ev/s` }),
        row({ bench: '5 replay', name: 'GET /api/health p99 during replay', measured: busy.p99, baseline: calm.p99, unit: 'ms', goal: '< 50 ms', status: busy.p99 < 50 ? 'PASS' : 'MISS', note: `${busy.n} probes, max ${busy.max.toFixed(0)} ms; baseline: the same probe during the raw replay (${calm.n} probes)` }),
      ],
      details: { events: h.replayEvents, seedSeconds: h.seedSeconds, rates, healthDuring: busy, healthIdle: calm },
    };
  } finally {
    await stopChild(raw);
  }

  /** Replays from replayFromId; returns events/s. With `probe`, requests /api/health back to back meanwhile. */
  async function replayOnce(url: string, probe?: number[]): Promise<number> {
    const t0 = performance.now();
    const client = await BenchSse.open(url, { lastEventId: h.replayFromId });
    let done = false;
    const probing = (async () => {
      while (probe && !done) {
        probe.push(await timedGet(health));
        await sleep(5);
      }
    })();
    try {
      const deadline = Date.now() + 120_000;
      while (client.lastId < h.replayToId) {
        if (Date.now() > deadline || client.closed) throw new Error(`replay from ${url} stopped at id ${client.lastId} of ${h.replayToId}`);
        await sleep(2);
      }
      const seconds = (performance.now() - t0) / 1000;
      if (client.frames !== h.replayToId - h.replayFromId) throw new Error(`replay from ${url}: ${client.frames} frames for ${h.replayToId - h.replayFromId} events`);
      return client.frames / seconds;
    } finally {
      done = true;
      client.close();
      await probing;
    }
  }
}
