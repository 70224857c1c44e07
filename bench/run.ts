/**
 * `npm run bench`: the benchmarks of issues 8 and 15 (start-up), each against a raw baseline measured
 * in the same run on the same machine (these machines are shared and noisy,
 * so only ratios mean something). Prints one table, writes
 * bench/out/results-<timestamp>.json and appends the table to bench/RESULTS.md.
 *
 *   npm run bench [-- [--quick] [--profile] [--only=latency,scale,…] [--no-record] [--comment=TEXT]]
 *
 * --quick and --only: not recorded in RESULTS.md unless --record; --profile: CPU
 * profiles of the server and workers in the measured windows, summarised at
 * the end (bench/out/prof-<timestamp>/). Every process started is stopped at
 * the end, including detached job workers and agent CLIs (found by their
 * CODEPLANE_HOME).
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { eventLatency } from './event-latency.ts';
import { jobStart } from './job-start.ts';
import { killEverything } from './lib/children.ts';
import { stopFleet } from './lib/fleet.ts';
import { removeBenchDirs } from './lib/home.ts';
import { stopHistory } from './lib/history.ts';
import { busyRefusals, gitFlakes, startFlakes } from './lib/jobs.ts';
import { formatSummary, summarizeProfiles } from './lib/profile-top.ts';
import { appendResultsMd, errorRow, machine, table, writeJson, type BenchContext, type BenchOutcome, type Row } from './lib/report.ts';
import { OUT_DIR } from './lib/root.ts';
import { memory } from './memory.ts';
import { parking } from './parking.ts';
import { recovery } from './recovery.ts';
import { replay } from './replay.ts';
import { scale } from './scale.ts';
import { startup } from './startup.ts';
import { throughput } from './throughput.ts';
import { uiRender } from './ui-render.ts';

interface Bench {
  key: string;
  /** Issue 8 numbering: the table is printed in this order. */
  order: number;
  run(ctx: BenchContext): Promise<BenchOutcome>;
}

// Run order: start-up alone first, then benchmarks grouped by the fixture they share: the 50-job fleet
// (latency, memory, scale), nothing (throughput, job start), the seeded history (replay, UI).
const BENCHES: Bench[] = [
  // First, on a machine nothing else of the run loads yet.
  { key: 'startup', order: 9, run: startup },
  { key: 'memory', order: 4, run: memory },
  { key: 'scale', order: 6, run: scale },
  { key: 'latency', order: 1, run: eventLatency },
  { key: 'throughput', order: 2, run: throughput },
  { key: 'jobstart', order: 3, run: jobStart },
  { key: 'replay', order: 5, run: replay },
  { key: 'ui', order: 7, run: uiRender },
  { key: 'recovery', order: 8, run: recovery },
  { key: 'parking', order: 4.5, run: parking },
];

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = option('only')?.split(',');
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const profileDir = flag('profile') ? join(OUT_DIR, `prof-${stamp}`) : undefined;
if (profileDir) mkdirSync(profileDir, { recursive: true });

const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s`;
const ctx: BenchContext = { log: (m) => process.stdout.write(`[${elapsed()}] ${m}\n`), quick: flag('quick'), ...(profileDir ? { profileDir } : {}) };

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    process.stdout.write(`\n${sig}: stopping every benchmark process…\n`);
    const n = killEverything();
    removeBenchDirs();
    process.stdout.write(`stopped ${n} process(es)\n`);
    process.exit(130);
  });

const selected = BENCHES.filter((b) => !only || only.includes(b.key));
const outcomes: { bench: Bench; outcome: BenchOutcome; seconds: number }[] = [];
const machineInfo = machine();
ctx.log(`CodePlane benchmarks${ctx.quick ? ' (quick)' : ''}: ${selected.map((b) => b.key).join(', ')} · Node ${process.version} · ${String(machineInfo['cpus'])} · load ${JSON.stringify(machineInfo['loadAvgAtStart'])}`);
try {
  for (const bench of selected) {
    const started = performance.now();
    ctx.log(`── ${bench.key}`);
    let outcome: BenchOutcome;
    try {
      outcome = await bench.run(ctx);
    } catch (e) {
      ctx.log(`${bench.key} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      outcome = { rows: [errorRow(`${bench.order} ${bench.key}`, e)], details: {} };
    }
    outcomes.push({ bench, outcome, seconds: (performance.now() - started) / 1000 });
    // Free the shared fixtures as soon as nothing else needs them.
    const rest = selected.slice(selected.indexOf(bench) + 1).map((b) => b.key);
    if (!rest.some((k) => ['memory', 'scale', 'latency'].includes(k))) await stopFleet();
    if (!rest.some((k) => ['replay', 'ui'].includes(k))) await stopHistory();
  }
} finally {
  await stopFleet();
  await stopHistory();
  const leftovers = killEverything();
  if (leftovers > 0) ctx.log(`stopped ${leftovers} leftover process(es)`);
  removeBenchDirs();
}

const seconds = (performance.now() - t0) / 1000;
const rows: Row[] = outcomes.sort((a, b) => a.bench.order - b.bench.order).flatMap((o) => o.outcome.rows);
const text = table(rows);
process.stdout.write(`\n${text}\n\n`);
const budget = seconds <= 600 ? 'within' : 'OVER';
process.stdout.write(`total ${seconds.toFixed(0)} s (${budget} the 10-minute budget); per benchmark: ${outcomes.map((o) => `${o.bench.key} ${o.seconds.toFixed(0)} s`).join(', ')}\n`);
const flakes = { gitCreate: gitFlakes.create, gitPrepare: gitFlakes.prepare, workerStartTimeout: startFlakes.workerTimeout, busy408: busyRefusals.count };
if (Object.values(flakes).some((v) => v > 0)) process.stdout.write(`spurious failures retried: ${JSON.stringify(flakes)}\n`);

const profiles: Record<string, ReturnType<typeof summarizeProfiles>> = {};
if (profileDir) {
  for (const label of readdirSync(profileDir).filter((d) => !d.startsWith('spool-')).sort()) {
    const files = readdirSync(join(profileDir, label)).filter((f) => f.endsWith('.cpuprofile'));
    for (const [role, prefixes] of [['server', ['bin_cpl_js']], ['workers', ['workers_main_ts', 'dist_worker_']]] as const) {
      const mine = files.filter((f) => prefixes.some((p) => f.startsWith(p))).map((f) => join(profileDir, label, f));
      if (mine.length === 0) continue;
      const s = summarizeProfiles(mine, 20);
      profiles[`${label}/${role}`] = s;
      process.stdout.write(`\nCPU profile, ${label}, ${role}:\n${formatSummary(s)}\n`);
    }
  }
}

const jsonFile = writeJson(stamp, {
  date: new Date().toISOString(),
  machine: machineInfo,
  args,
  seconds,
  perBenchmarkSeconds: Object.fromEntries(outcomes.map((o) => [o.bench.key, o.seconds])),
  flakes,
  rows,
  details: Object.fromEntries(outcomes.map((o) => [o.bench.key, o.outcome.details])),
  ...(profileDir ? { profiles } : {}),
});
process.stdout.write(`results: ${jsonFile}\n`);
const record = !flag('no-record') && (!ctx.quick || flag('record')) && (!only || flag('record'));
if (record) {
  const md = appendResultsMd({ date: new Date().toISOString(), machine: machineInfo, seconds, rows, args, ...(option('comment') ? { comment: option('comment')! } : {}) });
  process.stdout.write(`recorded in ${md}\n`);
}
