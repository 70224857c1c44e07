/**
 * 4. Memory: resident memory (VmRSS) of an idle job worker, its agent CLI
 * excluded, measured on the 50 workers of the fleet while every job is idle
 * in review; the figure is the median worker. Also reported: the total for
 * the 50 concurrent jobs (workers, and their agent CLIs apart), with the
 * proportional set size (PSS, shared pages split between processes) that
 * tells what they really cost together.
 *
 * Baseline: a bare `node -e` process kept alive by a timer, same binary.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getFleet } from './lib/fleet.ts';
import { killPid, rssBytes, workersAndClis } from './lib/procs.ts';
import { row, type BenchContext, type BenchOutcome } from './lib/report.ts';
import { ROOT } from './lib/root.ts';
import { median, sleep } from './lib/stats.ts';

const MB = 1024 * 1024;

export async function memory(ctx: BenchContext): Promise<BenchOutcome> {
  const fleet = await getFleet(ctx);
  await sleep(1000); // let the last turn's garbage be collected like an idle worker's would
  const { workers, clis } = workersAndClis(fleet.home);
  const workerRss = workers.map((p) => rssBytes(p) ?? 0).filter((v) => v > 0);
  const cliRss = clis.map((p) => rssBytes(p) ?? 0).filter((v) => v > 0);
  if (workerRss.length < fleet.jobs.length) throw new Error(`found ${workerRss.length} workers for ${fleet.jobs.length} jobs`);

  const bare = await bareNodeRss(3);
  // The floor any worker that holds the agent's SDK pays (the fleet runs Claude jobs).
  const sdkOnly = await bareNodeRss(3, "import('@anthropic-ai/claude-agent-sdk').then(() => setInterval(() => {}, 1e9))");
  const s = median(sdkOnly);
  const w = median(workerRss);
  const b = median(bare);
  const totalWorkers = sum(workerRss);
  const totalClis = sum(cliRss);
  const pss = { workers: sum(workers.map(pssBytes)), clis: sum(clis.map(pssBytes)) };
  ctx.log(`memory: idle worker ${(w / MB).toFixed(0)} MB, bare node ${(b / MB).toFixed(0)} MB`);
  return {
    rows: [
      row({ bench: '4 memory', name: 'idle worker RSS (agent CLI excluded)', measured: w / MB, baseline: b / MB, unit: 'MB', goal: '≤ 1.5× bare node', status: w <= 1.5 * b ? 'PASS' : 'MISS' }),
      row({
        bench: '4 memory',
        name: 'idle worker RSS vs node + the agent SDK alone',
        measured: w / MB,
        baseline: s / MB,
        unit: 'MB',
        goal: 'info',
        status: 'INFO',
        note: 'baseline: a node process that only imports @anthropic-ai/claude-agent-sdk (the adapter runs in the worker by design, so its SDK is a floor)',
      }),
      row({
        bench: '4 memory',
        name: `${workerRss.length} concurrent jobs: workers, total RSS`,
        measured: totalWorkers / MB,
        baseline: (b * workerRss.length) / MB,
        unit: 'MB',
        goal: 'info',
        status: 'INFO',
        note: `PSS workers ${(pss.workers / MB).toFixed(0)} MB; their agent CLIs (fake) RSS ${(totalClis / MB).toFixed(0)} MB, PSS ${(pss.clis / MB).toFixed(0)} MB; baseline = ${workerRss.length} × bare node`,
      }),
    ],
    details: {
      workers: workerRss.length,
      workerRssMB: { median: w / MB, min: Math.min(...workerRss) / MB, max: Math.max(...workerRss) / MB, total: totalWorkers / MB },
      cliRssMB: { count: cliRss.length, total: totalClis / MB },
      pssMB: { workers: pss.workers / MB, clis: pss.clis / MB },
      bareNodeRssMB: bare.map((v) => v / MB),
      sdkOnlyRssMB: sdkOnly.map((v) => v / MB),
    },
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function pssBytes(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function bareNodeRss(count: number, code = 'setInterval(() => {}, 1e9)'): Promise<number[]> {
  // --input-type=module so `import()` resolves from the repository (cwd), like the worker's.
  const children = Array.from({ length: count }, () => spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'ignore', cwd: ROOT }));
  try {
    await sleep(code.includes('import(') ? 4000 : 1500);
    return children.map((c) => rssBytes(c.pid!) ?? NaN);
  } finally {
    for (const c of children) killPid(c.pid!);
  }
}
