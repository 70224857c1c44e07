/**
 * 3. Job start: POST /api/jobs → the agent CLI is running, on a repository of
 * 20,000 files. "Running" is the first line of the CLI's own code: a wrapper
 * around the fake CLI (bench/fixtures/stamped-claude) records the wall clock
 * there. The path: validate, insert, schedule, `git worktree add` (checks out
 * 20,000 files), spawn the worker, handshake, start the statechart, the Agent
 * SDK spawns the CLI.
 *
 * Baseline: `git worktree add -b <branch> <path> main` on the same repository
 * then spawning `node -e` until its first line runs, timed the same way.
 * Rounds alternate; the figure is the median.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir, git, makeHome, makeRepo } from './lib/home.ts';
import { createJob, waitForState } from './lib/jobs.ts';
import { row, type BenchContext, type BenchOutcome } from './lib/report.ts';
import { fileProfiles, profileEnv } from './lib/profile.ts';
import { ROOT } from './lib/root.ts';
import { startBenchServer, type BenchServer } from './lib/server.ts';
import { median, nowMs, waitUntil } from './lib/stats.ts';

export async function jobStart(ctx: BenchContext): Promise<BenchOutcome> {
  const files = 20_000;
  const rounds = ctx.quick ? 2 : 3;
  const dir = benchDir('jobstart');
  let t = performance.now();
  const repo = makeRepo(dir, files);
  ctx.log(`job start: made a repository of ${files} files in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const home = makeHome(dir);
  const stamps = join(dir, 'stamps.txt');
  writeFileSync(stamps, '');
  const spool = join(ctx.profileDir ?? dir, 'spool-jobstart');
  let server: BenchServer | undefined;
  try {
    server = await startBenchServer({
      home,
      cwd: repo,
      // With --profile, the server and every worker are profiled from launch to exit.
      env: { CODEPLANE_CLAUDE_PATH: join(ROOT, 'bench/fixtures/stamped-claude'), CPL_BENCH_STAMPS: stamps, ...(ctx.profileDir ? profileEnv(spool, true) : {}) },
    });
    const url = server.url;
    const results: Record<'raw' | 'codeplane', number[]> = { raw: [], codeplane: [] };
    const stampCount = () => readFileSync(stamps, 'utf8').trim().split('\n').filter(Boolean).length;

    const baseline = async (i: number): Promise<number> => {
      const t0 = nowMs();
      git(repo, 'worktree', 'add', '-q', '-b', `bench-baseline-${i}`, join(dir, `baseline-${i}`), 'main');
      const started = await new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, ['-e', 'process.stdout.write(String(performance.timeOrigin + performance.now()))'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
        child.once('exit', () => resolve(Number(out)));
        child.once('error', reject);
      });
      return started - t0;
    };
    const codeplane = async (i: number): Promise<number> => {
      const before = stampCount();
      const t0 = nowMs();
      const job = await createJob(url, repo, `job start ${i}`);
      await waitUntil(() => stampCount() > before, 60_000, 'the agent CLI to start', 5);
      const line = readFileSync(stamps, 'utf8').trim().split('\n').at(-1)!;
      const started = Number(line.split(' ')[1]);
      await waitForState(url, [job.id], 'review', 60_000);
      return started - t0;
    };

    // Warm-up of both (page cache for the repository, tsx's compile cache for the worker): not recorded.
    await baseline(-1);
    await codeplane(-1);
    for (let r = 0; r < rounds; r++) {
      results.raw.push(await baseline(r));
      results.codeplane.push(await codeplane(r));
    }
    const c = median(results.codeplane);
    const b = median(results.raw);
    t = performance.now();
    return {
      rows: [
        row({
          bench: '3 job start',
          name: `POST → agent CLI running, ${files.toLocaleString('en-US')} files`,
          measured: c,
          baseline: b,
          unit: 'ms',
          goal: '≤ 1.3× raw',
          status: c <= 1.3 * b ? 'PASS' : 'MISS',
          note: `rounds: codeplane ${results.codeplane.map((v) => v.toFixed(0)).join(', ')} ms; raw ${results.raw.map((v) => v.toFixed(0)).join(', ')} ms`,
        }),
      ],
      details: { files, rounds, raw: results.raw, codeplane: results.codeplane },
    };
  } finally {
    await server?.stop();
    if (ctx.profileDir) fileProfiles(spool, ctx.profileDir, 'jobstart');
  }
}
