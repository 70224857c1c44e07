/**
 * 6. Scale: the 50 jobs of the fleet stream at once (fake agents, [[burst]]),
 * with one SSE client following every job. Measured meanwhile:
 * - GET /api/jobs latency, p99 (goal: under 50 ms). Baseline: the same bytes
 *   from a bare node:http server, requested alternately with CodePlane's.
 * - no event lost: the client checks every job's seqs are contiguous and
 *   every delta index arrived exactly once.
 * - the server's resident memory (peak during the run, against idle before it).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstJsonLine, spawnHelper, stopChild } from './lib/children.ts';
import { getFleet } from './lib/fleet.ts';
import { benchDir } from './lib/home.ts';
import { sendMessage, waitForState } from './lib/jobs.ts';
import { cpuByRole, peakRssBytes, rssBytes } from './lib/procs.ts';
import { startProfiling, stopProfiling } from './lib/profile.ts';
import { row, type BenchContext, type BenchOutcome } from './lib/report.ts';
import { api, request, timedGet } from './lib/server.ts';
import { BenchSse, stampsIn } from './lib/sse.ts';
import { sleep, summarize, waitUntil } from './lib/stats.ts';

const MB = 1024 * 1024;

export async function scale(ctx: BenchContext): Promise<BenchOutcome> {
  const fleet = await getFleet(ctx);
  const { server, jobs } = fleet;
  const n = ctx.quick ? 100 : 300;
  const rate = 30;
  const ids = jobs.map((j) => j.id);

  // The raw baseline serves exactly what GET /api/jobs returns now.
  const dir = benchDir('scale');
  const bodyFile = join(dir, 'jobs.json');
  writeFileSync(bodyFile, (await request(`${server.url}/api/jobs`)).text);
  const raw = spawnHelper('raw-static.ts', [bodyFile]);
  const { port } = await firstJsonLine<{ port: number }>(raw);
  const rawUrl = `http://127.0.0.1:${port}/api/jobs`;

  // Per job: seqs seen (contiguity) and delta indices seen (exactly once).
  const seqs = new Map<string, number[]>();
  const deltas = new Map<string, Uint8Array>(ids.map((id) => [id, new Uint8Array(n)]));
  let duplicates = 0;
  /** Jobs seen leaving review for the burst (a message is accepted with 202 before the job runs). */
  const running = new Set<string>();
  const { body: snap } = await api<{ lastEventId: number }>(server.url, 'GET', `/api/jobs/${ids[0]}/snapshot`);
  const client = await BenchSse.open(`${server.url}/api/events`, {
    lastEventId: snap.lastEventId,
    onFrame: (f) => {
      const jobId = /"jobId":"([^"]+)"/.exec(f.data)?.[1];
      const seq = Number(/"seq":(\d+)/.exec(f.data.slice(f.data.lastIndexOf('"seq":')))?.[1]);
      if (!jobId) return;
      const list = seqs.get(jobId) ?? [];
      list.push(seq);
      seqs.set(jobId, list);
      if (f.data.includes('"type":"job_state_changed"') && f.data.includes('"to":"running"')) running.add(jobId);
      if (!f.data.includes('"role":"agent_delta"')) return;
      const seen = deltas.get(jobId);
      for (const s of stampsIn(f.data)) if (seen) seen[s.i] === 1 ? duplicates++ : (seen[s.i] = 1);
    },
  });

  const idleRss = rssBytes(server.pid) ?? NaN;
  let peakRss = idleRss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(server.pid) ?? 0)), 250);
  const cpTimes: number[] = [];
  const rawTimes: number[] = [];
  try {
    // Warm both endpoints (connections, JIT) before the load.
    for (let i = 0; i < 5; i++) {
      await timedGet(`${server.url}/api/jobs`);
      await timedGet(rawUrl);
    }
    ctx.log(`scale: ${ids.length} jobs × [[burst ${n} ${rate}]]`);
    if (ctx.profileDir) startProfiling(fleet.home, server.pid);
    const cpu0 = cpuByRole(fleet.home, server.pid);
    const t0 = performance.now();
    await Promise.all(ids.map((id) => sendMessage(server.url, id, `[[burst ${n} ${rate}]]`)));
    await waitUntil(() => Promise.resolve(running.size === ids.length), 60_000, 'every job running its burst');
    let done = false;
    const finished = waitForState(server.url, ids, 'review', (n / rate) * 1000 + 120_000).finally(() => (done = true));
    while (!done) {
      cpTimes.push(await timedGet(`${server.url}/api/jobs`));
      rawTimes.push(await timedGet(rawUrl));
      await sleep(20);
    }
    await finished;
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = cpuByRole(fleet.home, server.pid);
    if (ctx.profileDir) await stopProfiling(fleet.home, server.pid, fleet.spool, ctx.profileDir, 'scale');
    const cpuSeconds = { server: (cpu1.server - cpu0.server) / 1000, workers: (cpu1.workers - cpu0.workers) / 1000, clis: (cpu1.clis - cpu0.clis) / 1000 };
    await sleep(500); // the last frames after the state change
    peakRss = Math.max(peakRss, rssBytes(server.pid) ?? 0);

    let lost = 0;
    let seqGaps = 0;
    for (const id of ids) {
      lost += n - (deltas.get(id)?.reduce((a, b) => a + b, 0) ?? 0);
      const s = [...(seqs.get(id) ?? [])].sort((a, b) => a - b);
      for (let i = 1; i < s.length; i++) if (s[i]! !== s[i - 1]! + 1) seqGaps++;
    }
    const cp = summarize(cpTimes);
    const rs = summarize(rawTimes);
    ctx.log(`scale: CPU seconds while streaming: server ${cpuSeconds.server.toFixed(1)}, workers ${cpuSeconds.workers.toFixed(1)}, agent CLIs ${cpuSeconds.clis.toFixed(1)}`);
    ctx.log(`scale: GET /api/jobs p99 ${cp.p99.toFixed(1)} ms (raw ${rs.p99.toFixed(1)} ms), lost ${lost}, seq gaps ${seqGaps}, ${seconds.toFixed(1)} s`);
    return {
      rows: [
        row({ bench: '6 scale', name: `GET /api/jobs p99, ${ids.length} jobs streaming`, measured: cp.p99, baseline: rs.p99, unit: 'ms', goal: '< 50 ms', status: cp.p99 < 50 ? 'PASS' : 'MISS', note: `${cp.n} requests; p50 ${cp.p50.toFixed(1)} ms (raw ${rs.p50.toFixed(1)} ms); ${ids.length} × ${n} deltas at ${rate}/s each took ${seconds.toFixed(1)} s` }),
        row({ bench: '6 scale', name: 'events lost (deltas missing + seq gaps + duplicates)', measured: lost + seqGaps + duplicates, baseline: 0, ratio: NaN, unit: '', goal: '0', status: lost + seqGaps + duplicates === 0 ? 'PASS' : 'MISS', note: `${ids.length * n} deltas expected` }),
        row({ bench: '6 scale', name: 'server RSS, peak while streaming', measured: peakRss / MB, baseline: idleRss / MB, unit: 'MB', goal: 'info (baseline: idle, 50 jobs)', status: 'INFO', note: `VmHWM ${((peakRssBytes(server.pid) ?? NaN) / MB).toFixed(0)} MB` }),
      ],
      details: { jobs: ids.length, perJob: n, rate, seconds, cpuSeconds, getJobs: { codeplane: cp, raw: rs }, lost, seqGaps, duplicates, idleRssMB: idleRss / MB, peakRssMB: peakRss / MB },
    };
  } finally {
    clearInterval(rssTimer);
    client.close();
    await stopChild(raw);
  }
}

