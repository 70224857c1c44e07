/**
 * 8. Recovery (issue 5's figures): how fast CodePlane notices and repairs
 * the two failures it promises to survive, measured on the real server.
 *
 * - Worker crash: a job streams; its worker is killed -9. Measured: kill →
 *   the restart note on an SSE client (detection + recording), and kill →
 *   the first delta of the resumed agent session (back to work). Baseline:
 *   a bare `node -e` process spawned and answering on stdout (the floor of
 *   starting any replacement process).
 * - Supervisor killed -9: workers keep streaming into their outboxes; a new
 *   `cpl up` starts. Measured: new server spawned → listening, and → the
 *   job's next event on a reconnected SSE client (re-attached and flowing);
 *   the events the worker re-sent (its first batch) and how many of those
 *   were already stored, from the server's log. Baseline: the same new
 *   server start with no worker to re-attach.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir, makeHome, makeRepo } from './lib/home.ts';
import { createJob } from './lib/jobs.ts';
import { killByHome, processesWithHome, cmdline } from './lib/procs.ts';
import { row, type BenchContext, type BenchOutcome, type Row } from './lib/report.ts';
import { startBenchServer, type BenchServer } from './lib/server.ts';
import { BenchSse } from './lib/sse.ts';
import { median, nowMs, sleep, waitUntil } from './lib/stats.ts';

const WORKER = /(workers\/main\.ts|dist\/worker\/[0-9a-f]+\/main\.js|dist\/worker\.js) --job (\S+)/;

function workerPidOf(home: string, jobId: string): number | undefined {
  return processesWithHome(home).find((p) => WORKER.exec(cmdline(p))?.[2] === jobId);
}

interface Seen {
  t: number;
  data: string;
}

/** Frames of one job as they arrive, with their arrival time. */
async function watch(url: string, jobId: string, lastEventId?: number): Promise<{ seen: Seen[]; sse: BenchSse }> {
  const seen: Seen[] = [];
  const sse = await BenchSse.open(`${url}/api/events?jobId=${jobId}${lastEventId !== undefined ? `&lastEventId=${lastEventId}` : ''}`, {
    onFrame: (f) => seen.push({ t: nowMs(), data: f.data }),
  });
  return { seen, sse };
}

const firstAfter = (seen: Seen[], t: number, re: RegExp) => seen.find((s) => s.t >= t && re.test(s.data));

export async function recovery(ctx: BenchContext): Promise<BenchOutcome> {
  const rounds = ctx.quick ? 2 : 3;
  const rows: Row[] = [];
  const details: Record<string, unknown> = { rounds };
  const bare = await bareNodeStartMs(rounds);

  // Worker crash.
  const detect: number[] = [];
  const back: number[] = [];
  {
    const dir = benchDir('recovery-worker');
    const home = makeHome(dir);
    const repo = makeRepo(dir);
    const server = await startBenchServer({ home, cwd: repo });
    try {
      for (let r = 0; r < rounds; r++) {
        const job = await createJob(server.url, repo, '[[slow 400]]');
        const { seen, sse } = await watch(server.url, job.id);
        await waitUntil(() => seen.some((s) => s.data.includes('"agent_delta"')), 30_000, 'streaming');
        const pid = workerPidOf(home, job.id);
        if (!pid) throw new Error('worker not found');
        const t0 = nowMs();
        process.kill(pid, 'SIGKILL');
        await waitUntil(() => !!firstAfter(seen, t0, /"role":"system"/), 30_000, 'restart note');
        await waitUntil(() => !!firstAfter(seen, firstAfter(seen, t0, /"role":"system"/)!.t, /"agent_delta"/), 30_000, 'resumed stream');
        const note = firstAfter(seen, t0, /"role":"system"/)!;
        detect.push(note.t - t0);
        back.push(firstAfter(seen, note.t, /"agent_delta"/)!.t - t0);
        sse.close();
        await fetch(`${server.url}/api/jobs/${job.id}/cancel`, { method: 'POST' }).catch(() => undefined);
      }
    } finally {
      await server.stop();
    }
  }
  details['workerCrash'] = { detectMs: detect.map(Math.round), backToWorkMs: back.map(Math.round), bareNodeStartMs: bare.map(Math.round) };
  rows.push(row({ bench: '8 recovery', name: 'worker killed -9 → restart recorded', measured: median(detect), baseline: median(bare), unit: 'ms', goal: 'info', status: 'INFO', note: 'baseline: spawning a bare node process until it answers' }));
  rows.push(row({ bench: '8 recovery', name: 'worker killed -9 → agent streaming again', measured: median(back), baseline: median(bare), unit: 'ms', goal: 'info', status: 'INFO' }));

  // Supervisor crash.
  const listen: number[] = [];
  const flowing: number[] = [];
  const listenBare: number[] = [];
  const resent: { resent: number; alreadyStored: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    const dir = benchDir('recovery-server');
    const home = makeHome(dir);
    const repo = makeRepo(dir);
    const first = await startBenchServer({ home, cwd: repo });
    let second: BenchServer | undefined;
    try {
      const job = await createJob(first.url, repo, '[[slow 400]]');
      const a = await watch(first.url, job.id);
      await waitUntil(() => a.seen.some((s) => s.data.includes('"agent_delta"')), 30_000, 'streaming');
      first.child.kill('SIGKILL');
      a.sse.close();
      await sleep(1000); // the worker keeps streaming into its outbox meanwhile
      const t0 = nowMs();
      second = await startBenchServer({ home, cwd: repo });
      listen.push(nowMs() - t0);
      const b = await watch(second.url, job.id, a.sse.lastId);
      await waitUntil(() => b.seen.some((s) => s.data.includes('"agent_delta"')), 30_000, 'stream after re-attach');
      flowing.push(b.seen.find((s) => s.data.includes('"agent_delta"'))!.t - t0);
      b.sse.close();
      await waitUntil(() => !!resentOf(home), 10_000, 'the re-send log line');
      resent.push(resentOf(home)!);
    } finally {
      await second?.stop();
      await first.stop();
      killByHome(home);
    }
    // The same start with nothing to re-attach (a fresh home).
    const emptyDir = benchDir('recovery-empty');
    const t1 = nowMs();
    const empty = await startBenchServer({ home: makeHome(emptyDir), cwd: makeRepo(emptyDir) });
    listenBare.push(nowMs() - t1);
    await empty.stop();
  }
  details['supervisorCrash'] = { listenMs: listen.map(Math.round), flowingMs: flowing.map(Math.round), emptyStartMs: listenBare.map(Math.round), resent };
  rows.push(row({ bench: '8 recovery', name: 'server killed -9 → new server listening', measured: median(listen), baseline: median(listenBare), unit: 'ms', goal: 'info', status: 'INFO', note: 'baseline: the same start on an empty home' }));
  rows.push(
    row({
      bench: '8 recovery',
      name: 'server killed -9 → re-attached, events flowing',
      measured: median(flowing),
      baseline: median(listenBare),
      unit: 'ms',
      goal: 'info',
      status: 'INFO',
      note: `first batch re-sent per round: ${resent.map((x) => `${x.resent} (${x.alreadyStored} already stored)`).join(', ')}`,
    }),
  );
  return { rows, details };
}

function resentOf(home: string): { resent: number; alreadyStored: number } | undefined {
  let text = '';
  try {
    text = readFileSync(join(home, 'logs', 'codeplane.log'), 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n').reverse()) {
    if (!line.includes('re-sent its unacknowledged events')) continue;
    const v = JSON.parse(line) as { resent?: unknown; alreadyStored?: unknown };
    if (typeof v.resent === 'number' && typeof v.alreadyStored === 'number') return { resent: v.resent, alreadyStored: v.alreadyStored };
  }
  return undefined;
}

async function bareNodeStartMs(count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = nowMs();
    await new Promise<void>((resolve, reject) => {
      const c = spawn(process.execPath, ['-e', 'process.stdout.write("up")'], { stdio: ['ignore', 'pipe', 'ignore'] });
      c.stdout.once('data', () => resolve());
      c.once('error', reject);
    });
    out.push(nowMs() - t0);
  }
  return out;
}
