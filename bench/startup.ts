/**
 * 9. Start-up and idle memory of the server, as the npm package runs it (dist/, plain node; built
 * here first with `node scripts/build.mjs --server-only`, a fraction of a second):
 *  - start: spawning `cpl up --port P` inside a git repository (it registers it) → the first
 *    200 answer of GET /api/health, polled every 10 ms. The home is reused across rounds (the
 *    first, unrecorded, round creates the database), like a user's;
 *  - idle RSS: VmRSS after the start, five health calls and 2 s of rest.
 * Baseline: a bare `node -e` HTTP server answering the same request, started, probed and measured
 * the same way in the same run. Rounds alternate; figures are medians. The same server run from
 * the TypeScript sources (bin/cpl.js, tsx: the development loop) is reported for information, and
 * with CPL_BENCH_COMPARE_ROOT=<another checkout> that checkout's bin/cpl.js too (e.g. a commit
 * before a change: `git worktree add /tmp/before <commit>`, node_modules linked).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { trackHome } from './lib/children.ts';
import { benchDir, makeRepo } from './lib/home.ts';
import { killByHome, rssBytes } from './lib/procs.ts';
import { row, type BenchContext, type BenchOutcome } from './lib/report.ts';
import { ROOT } from './lib/root.ts';
import { request } from './lib/server.ts';
import { median, sleep } from './lib/stats.ts';

const MB = 1024 * 1024;
type Variant = 'bare' | 'built' | 'sources' | 'compare';
const COMPARE_ROOT = process.env['CPL_BENCH_COMPARE_ROOT'];

const BARE_SERVER = `require('node:http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end('{"status":"ok"}'); }).listen(Number(process.argv[1]), '127.0.0.1');`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function health(url: string): Promise<boolean> {
  try {
    return (await request(`${url}/api/health`)).status === 200;
  } catch {
    return false;
  }
}

interface Sample {
  startMs: number;
  rssMB: number;
}

async function measure(variant: Variant, repo: string, home: string): Promise<Sample> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args =
    variant === 'bare' ? ['-e', BARE_SERVER, String(port)] : [variant === 'built' ? join(ROOT, 'dist/cpl.js') : join(variant === 'compare' ? COMPARE_ROOT! : ROOT, 'bin/cpl.js'), 'up', '--port', String(port)];
  let out = '';
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, { cwd: repo, env: { ...process.env, CODEPLANE_HOME: home, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out = (out + c).slice(-4000)));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out = (out + c).slice(-4000)));
  try {
    const deadline = t0 + 60_000;
    while (!(await health(url))) {
      if (child.exitCode !== null) throw new Error(`${variant} server exited ${child.exitCode}: ${out}`);
      if (performance.now() > deadline) throw new Error(`${variant} server did not answer in 60 s: ${out}`);
      await sleep(10);
    }
    const startMs = performance.now() - t0;
    for (let i = 0; i < 5; i++) await health(url);
    await sleep(2000);
    const rss = rssBytes(child.pid!);
    if (rss === undefined) throw new Error(`${variant} server is gone: ${out}`);
    return { startMs, rssMB: rss / MB };
  } finally {
    const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    killByHome(home);
  }
}

export async function startup(ctx: BenchContext): Promise<BenchOutcome> {
  const t = performance.now();
  await new Promise<void>((resolve, reject) => {
    const b = spawn(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--server-only'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    b.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build:server exited ${code}`))));
  });
  ctx.log(`startup: built dist/ in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const dir = benchDir('startup');
  const repo = makeRepo(dir);
  const homes: Record<Variant, string> = { bare: join(dir, 'home-bare'), built: join(dir, 'home-built'), sources: join(dir, 'home-sources'), compare: join(dir, 'home-compare') };
  for (const home of Object.values(homes)) mkdirSync(trackHome(home), { recursive: true, mode: 0o700 });
  const rounds = ctx.quick ? 2 : 5;
  const samples: Record<Variant, Sample[]> = { bare: [], built: [], sources: [], compare: [] };
  const order: Variant[] = ['bare', 'built', 'sources', ...(COMPARE_ROOT ? (['compare'] as const) : [])];
  for (const v of order) await measure(v, repo, homes[v]); // warm-up: page cache, the database created, tsx's cache
  for (let r = 0; r < rounds; r++) for (const v of r % 2 ? [...order].reverse() : order) samples[v].push(await measure(v, repo, homes[v]));
  const m = (v: Variant, k: keyof Sample) => median(samples[v].map((s) => s[k]));
  const [bareStart, builtStart, srcStart] = [m('bare', 'startMs'), m('built', 'startMs'), m('sources', 'startMs')];
  const [bareRss, builtRss, srcRss] = [m('bare', 'rssMB'), m('built', 'rssMB'), m('sources', 'rssMB')];
  const list = (v: Variant, k: keyof Sample) => samples[v].map((s) => s[k].toFixed(0)).join(', ');
  ctx.log(`startup: built ${builtStart.toFixed(0)} ms / ${builtRss.toFixed(0)} MB, sources ${srcStart.toFixed(0)} ms / ${srcRss.toFixed(0)} MB, bare ${bareStart.toFixed(0)} ms / ${bareRss.toFixed(0)} MB`);
  return {
    rows: [
      row({
        bench: '9 startup', name: 'cpl up → first /api/health (package, dist/)', measured: builtStart, baseline: bareStart, unit: 'ms', goal: '≤ 6× bare node', status: builtStart <= 6 * bareStart ? 'PASS' : 'MISS',
        note: `rounds: cpl ${list('built', 'startMs')} ms; bare node http ${list('bare', 'startMs')} ms`,
      }),
      row({
        bench: '9 startup', name: 'idle server RSS (package, dist/)', measured: builtRss, baseline: bareRss, unit: 'MB', goal: '≤ 2.0× bare node', status: builtRss <= 2 * bareRss ? 'PASS' : 'MISS',
        note: `after the start, 5 health calls and 2 s; rounds: cpl ${list('built', 'rssMB')} MB; bare node http ${list('bare', 'rssMB')} MB`,
      }),
      row({ bench: '9 startup', name: 'cpl up → first /api/health (sources, tsx)', measured: srcStart, baseline: bareStart, unit: 'ms', goal: 'info', status: 'INFO', note: `the development loop; rounds: ${list('sources', 'startMs')} ms` }),
      row({ bench: '9 startup', name: 'idle server RSS (sources, tsx)', measured: srcRss, baseline: bareRss, unit: 'MB', goal: 'info', status: 'INFO', note: `rounds: ${list('sources', 'rssMB')} MB` }),
      ...(COMPARE_ROOT
        ? [
            row({ bench: '9 startup', name: `cpl up → first /api/health (${COMPARE_ROOT})`, measured: m('compare', 'startMs'), baseline: bareStart, unit: 'ms', goal: 'info', status: 'INFO', note: `rounds: ${list('compare', 'startMs')} ms` }),
            row({ bench: '9 startup', name: `idle server RSS (${COMPARE_ROOT})`, measured: m('compare', 'rssMB'), baseline: bareRss, unit: 'MB', goal: 'info', status: 'INFO', note: `rounds: ${list('compare', 'rssMB')} MB` }),
          ]
        : []),
    ],
    details: { rounds, samples },
  };
}
