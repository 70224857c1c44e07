/**
 * 1. Event latency: a text delta leaves the agent CLI → an SSE client has it.
 *
 * The fake CLI's [[burst N RATE]] stamps every delta with the wall clock as it
 * writes it; the SSE client subtracts that stamp from the time the socket read
 * returned (same machine, same clock). The path is the whole of CodePlane's:
 * CLI stdout → Agent SDK → adapter → statechart → outbox → IPC → SQLite
 * append → hub → SSE.
 *
 * Baseline (same run, alternating rounds): a raw emitter process writes the
 * same stamped JSON lines over a Unix socket to a relay process, which writes
 * each as one HTTP chunk to every client: one raw IPC message + one raw HTTP
 * chunk write, same rates, same number of streams and clients.
 *
 * The measuring client is the last one connected (the last one each event
 * is written to); the others only drain their sockets, as browsers would.
 */
import { join } from 'node:path';
import { spawnHelper, firstJsonLine, stopChild } from './lib/children.ts';
import { getFleet } from './lib/fleet.ts';
import { startProfiling, stopProfiling } from './lib/profile.ts';
import { benchDir } from './lib/home.ts';
import { sendMessage, waitForState } from './lib/jobs.ts';
import { row, type BenchContext, type BenchOutcome, type Row } from './lib/report.ts';
import { api, request } from './lib/server.ts';
import { BenchSse, stampsIn } from './lib/sse.ts';
import { sleep, summarize, waitUntil, type Summary } from './lib/stats.ts';

const RATE = 200;
const DELTA = '"role":"agent_delta"';

interface Phase {
  label: string;
  streams: number;
  clients: number;
  /** Deltas per stream per round. */
  n: number;
  rounds: number;
}

interface Target {
  kind: 'raw' | 'codeplane';
  eventsUrl: string;
  /** Starts `streams` bursts of n deltas at RATE/s. */
  go(streams: number, n: number): Promise<void>;
  /** Resolves when the target is ready for another round. */
  settle(streams: number): Promise<void>;
  /** Where a new client starts (CodePlane replays from Last-Event-ID; a fresh client must not replay old rounds). */
  lastEventId(): Promise<number | undefined>;
}

export async function eventLatency(ctx: BenchContext): Promise<BenchOutcome> {
  const maxStreams = 20;
  const phases: Phase[] = [
    { label: '1 job, 1 client', streams: 1, clients: 1, n: ctx.quick ? 300 : 800, rounds: 2 },
    { label: `${maxStreams} jobs × ${RATE} ev/s, 50 clients`, streams: maxStreams, clients: 50, n: ctx.quick ? 400 : 1000, rounds: 2 },
  ];
  const fleet = await getFleet(ctx);
  const cp = fleet.server;
  const ids = fleet.jobs.slice(0, maxStreams).map((j) => j.id);
  const dir = benchDir('latency');
  const sock = join(dir, 'raw.sock');
  const relay = spawnHelper('raw-relay.ts', [sock]);
  const { port } = await firstJsonLine<{ port: number }>(relay);
  const rawUrl = `http://127.0.0.1:${port}`;
  const emitter = spawnHelper('raw-emitter.ts', [sock, String(maxStreams)]);
  try {
    await waitUntil(async () => (JSON.parse((await request(`${rawUrl}/status`)).text) as { emitters: number }).emitters === maxStreams, 20_000, 'raw emitters');

    const raw: Target = {
      kind: 'raw',
      eventsUrl: `${rawUrl}/events`,
      go: async (streams, n) => void (await request(`${rawUrl}/go?streams=${streams}&n=${n}&rate=${RATE}`)),
      settle: () => sleep(300),
      lastEventId: () => Promise.resolve(undefined),
    };
    const codeplane: Target = {
      kind: 'codeplane',
      eventsUrl: `${cp.url}/api/events`,
      go: async (streams, n) => void (await Promise.all(ids.slice(0, streams).map((id) => sendMessage(cp.url, id, `[[burst ${n} ${RATE}]]`)))),
      settle: (streams) => waitForState(cp.url, ids.slice(0, streams), 'review', 60_000).then(() => sleep(300)),
      lastEventId: async () => (await api<{ lastEventId: number }>(cp.url, 'GET', `/api/jobs/${ids[0]}/snapshot`)).body.lastEventId,
    };

    const rows: Row[] = [];
    const details: Record<string, unknown> = { rate: RATE };
    for (const phase of phases) {
      ctx.log(`latency: ${phase.label}`);
      const result: Record<string, number[]> = { raw: [], codeplane: [] };
      const missing: Record<string, number> = { raw: 0, codeplane: 0 };
      for (const target of [raw, codeplane]) {
        // Warm-up round (JIT, connections): not recorded.
        const clients = await openClients(target, phase.clients);
        try {
          await runRound(target, clients.measure, phase.streams, Math.min(100, phase.n));
        } finally {
          await clients.close();
        }
      }
      // Alternate raw and CodePlane rounds so both see the same machine noise.
      for (let r = 0; r < phase.rounds; r++) {
        for (const target of [raw, codeplane]) {
          const clients = await openClients(target, phase.clients);
          const profiling = ctx.profileDir !== undefined && target === codeplane;
          if (profiling) startProfiling(fleet.home, cp.pid, ids.slice(0, phase.streams));
          try {
            const got = await runRound(target, clients.measure, phase.streams, phase.n);
            if (profiling) await stopProfiling(fleet.home, cp.pid, fleet.spool, ctx.profileDir!, `latency-${phase.streams}`, ids.slice(0, phase.streams));
            result[target.kind]!.push(...got.latencies);
            missing[target.kind]! += got.missing;
          } finally {
            await clients.close();
          }
        }
      }
      const rs = summarize(result['raw']!);
      const cs = summarize(result['codeplane']!);
      details[phase.label] = { raw: round(rs), codeplane: round(cs), missing, streams: phase.streams, clients: phase.clients, perStreamPerRound: phase.n, rounds: phase.rounds };
      const lost = missing['codeplane']! > 0 ? `; ${missing['codeplane']} deltas not received within the round's deadline (counted as infinite)` : '';
      rows.push(row({ bench: '1 latency', name: `p50, ${phase.label}`, measured: cs.p50, baseline: rs.p50, unit: 'ms', goal: 'info', status: 'INFO' }));
      rows.push(
        row({
          bench: '1 latency',
          name: `p99, ${phase.label}`,
          measured: cs.p99,
          baseline: rs.p99,
          unit: 'ms',
          goal: '≤ 2× raw + 5 ms',
          status: cs.p99 <= 2 * rs.p99 + 5 ? 'PASS' : 'MISS',
          note: `n=${cs.n} (raw ${rs.n}), max ${cs.max.toFixed(0)} ms (raw ${rs.max.toFixed(0)} ms)${lost}`,
        }),
      );
    }
    return { rows, details };
  } finally {
    await stopChild(emitter);
    await stopChild(relay);
  }

  interface Measure {
    latencies: number[];
    seen: number;
  }

  async function openClients(target: Target, count: number): Promise<{ measure: Measure; close(): Promise<void> }> {
    const url = target.eventsUrl;
    const last = await target.lastEventId();
    const drains = count > 1 ? spawnHelper('drain-clients.ts', [url, String(count - 1), ...(last === undefined ? [] : [String(last)])]) : undefined;
    if (drains) await firstJsonLine(drains);
    const measure: Measure = { latencies: [], seen: 0 };
    const client = await BenchSse.open(url, {
      ...(last === undefined ? {} : { lastEventId: last }),
      onFrame: (f, at) => {
        if (!f.data.includes(DELTA)) return;
        for (const s of stampsIn(f.data)) {
          measure.latencies.push(at - s.t);
          measure.seen++;
        }
      },
    });
    return {
      measure,
      close: async () => {
        client.close();
        if (drains) await stopChild(drains);
      },
    };
  }

  async function runRound(target: Target, m: Measure, streams: number, n: number): Promise<{ latencies: number[]; missing: number }> {
    m.latencies = [];
    m.seen = 0;
    const expected = streams * n;
    await target.go(streams, n);
    const deadline = Date.now() + (n / RATE) * 1000 + 30_000;
    while (m.seen < expected && Date.now() < deadline) await sleep(50);
    const latencies = m.latencies;
    const missing = Math.max(0, expected - m.seen);
    for (let i = 0; i < missing; i++) latencies.push(Infinity);
    await target.settle(streams);
    return { latencies, missing };
  }
}

function round(s: Summary): Summary {
  const r = (v: number) => Math.round(v * 100) / 100;
  return { n: s.n, mean: r(s.mean), p50: r(s.p50), p90: r(s.p90), p99: r(s.p99), max: r(s.max) };
}
