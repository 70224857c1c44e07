/**
 * 4. Memory, continued: what jobs idle in review cost once their workers are
 * parked (config idleWorkerSeconds: the worker and its agent CLI exit, the
 * agent session stays on disk), and what the user pays for it: the wait from
 * a message to the agent's first output when a worker must start again and
 * resume the session.
 *
 * Ten jobs run to review on a server that parks after PARK_MS. Right after
 * they reach review: the RSS of their workers and CLIs (all up), and message
 * → first agent output on five of them (a worker still up: the baseline).
 * Once every worker is parked: the RSS again, then message → first agent
 * output on the five others (revived).
 */
import { benchDir, makeHome, makeRepo } from './lib/home.ts';
import { startJobs } from './lib/jobs.ts';
import { rssBytes, workersAndClis } from './lib/procs.ts';
import { row, type BenchContext, type BenchOutcome } from './lib/report.ts';
import { api, startBenchServer } from './lib/server.ts';
import { BenchSse } from './lib/sse.ts';
import { median, nowMs, waitUntil } from './lib/stats.ts';

const JOBS = 10;
/** Long enough for ten jobs to reach review and five follow-ups to finish before any worker parks. */
const PARK_MS = 20_000;
const MB = 1024 * 1024;

const rssOf = (pids: number[]) => pids.reduce((a, p) => a + (rssBytes(p) ?? 0), 0);

export async function parking(ctx: BenchContext): Promise<BenchOutcome> {
  const dir = benchDir('parking');
  const home = makeHome(dir);
  const repo = makeRepo(dir);
  const server = await startBenchServer({ home, cwd: repo, env: { CODEPLANE_IDLE_WORKER_MS: String(PARK_MS) } });
  const frames: { t: number; data: string }[] = [];
  const sse = await BenchSse.open(`${server.url}/api/events`, { onFrame: (f, t) => frames.push({ t, data: f.data }) });
  try {
    const jobs = await startJobs(server.url, repo, JOBS, (i) => `parking job ${i}`, 'review', 120_000);
    const live = workersAndClis(home);
    if (live.workers.length < JOBS) throw new Error(`${live.workers.length} workers up for ${JOBS} jobs: some parked before they were measured`);
    const before = rssOf([...live.workers, ...live.clis]);

    /** Message → the first agent output (a delta or a whole answer) of that job. */
    const firstOutput = async (jobId: string): Promise<number> => {
      const t0 = nowMs();
      const r = await api(server.url, 'POST', `/api/jobs/${jobId}/messages`, { content: 'are you there?' });
      if (r.status !== 202 && r.status !== 200) throw new Error(`POST message: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      const hit = () => frames.find((f) => f.t >= t0 && f.data.includes(jobId) && /"role":"agent(_delta)?"/.test(f.data));
      await waitUntil(() => !!hit(), 60_000, `first output of ${jobId}`, 5);
      const t = hit()!.t - t0;
      await waitUntil(() => frames.some((f) => f.t >= t0 && f.data.includes(jobId) && f.data.includes('"to":"review"')), 60_000, `${jobId} back in review`);
      return t;
    };
    const warm: number[] = [];
    for (const j of jobs.slice(0, JOBS / 2)) warm.push(await firstOutput(j.id));

    ctx.log(`parking: waiting for ${JOBS} workers to park (${PARK_MS / 1000} s idle)`);
    await waitUntil(() => workersAndClis(home).workers.length === 0, PARK_MS * 3 + 60_000, 'every worker parked', 250);
    const parked = workersAndClis(home);
    const after = rssOf([...parked.workers, ...parked.clis]);

    const revived: number[] = [];
    for (const j of jobs.slice(JOBS / 2)) revived.push(await firstOutput(j.id));
    ctx.log(`parking: ${(before / MB).toFixed(0)} MB → ${(after / MB).toFixed(0)} MB; first output ${median(warm).toFixed(0)} ms live, ${median(revived).toFixed(0)} ms revived`);
    return {
      rows: [
        row({
          bench: '4 memory',
          name: `${JOBS} jobs idle in review, parked: workers + CLIs RSS`,
          measured: after / MB,
          baseline: before / MB,
          unit: 'MB',
          goal: 'info',
          status: 'INFO',
          note: `baseline: the same jobs just after they reached review (${live.workers.length} workers, ${live.clis.length} CLIs); parked: ${parked.workers.length + parked.clis.length} processes left`,
        }),
        row({
          bench: '4 memory',
          name: 'message → first agent output, parked job',
          measured: median(revived),
          baseline: median(warm),
          unit: 'ms',
          goal: 'info',
          status: 'INFO',
          note: `baseline: a job whose worker is still up; rounds: parked ${revived.map(Math.round).join(', ')} ms, up ${warm.map(Math.round).join(', ')} ms`,
        }),
      ],
      details: { beforeMB: before / MB, afterMB: after / MB, firstOutputMs: { live: warm, revived } },
    };
  } finally {
    sse.close();
    await server.stop();
  }
}
