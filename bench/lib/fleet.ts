/**
 * The 50-job fleet shared by the latency, memory and scale benchmarks: one
 * server, 50 jobs on fake agents, each run to `review` (its worker and agent
 * session stay up, idle) so a benchmark can make any of them stream again
 * with a follow-up message. Starting 50 workers is the costliest step of the
 * suite, so it happens once per run.
 */
import type { Job } from '../../api/contract.ts';
import { benchDir, makeHome, makeRepo } from './home.ts';
import { startJobs } from './jobs.ts';
import type { BenchContext } from './report.ts';
import { join } from 'node:path';
import { profileEnv } from './profile.ts';
import { startBenchServer, type BenchServer } from './server.ts';

export const FLEET_SIZE = 50;

export interface Fleet {
  server: BenchServer;
  /** Where the fleet's processes write CPU profiles (with --profile). */
  spool: string;
  home: string;
  repo: string;
  jobs: Job[];
  /** Seconds from the first POST until all 50 jobs were idle in review. */
  startSeconds: number;
}

let fleet: Promise<Fleet> | undefined;

export function getFleet(ctx: BenchContext): Promise<Fleet> {
  fleet ??= (async () => {
    const dir = benchDir('fleet');
    // Start 8 at a time (a job in review frees its slot): 50 workers starting at once on a
    // small machine can miss the supervisor's 15 s handshake timeout.
    const home = makeHome(dir, { maxConcurrentJobs: 8, maxJobsPerRepo: 8 });
    const repo = makeRepo(dir);
    const server = await startBenchServer({
      home,
      cwd: repo,
      ...(ctx.profileDir
        ? { env: profileEnv(join(ctx.profileDir, 'spool-fleet')) }
        : {}),
    });
    ctx.log(`fleet: starting ${FLEET_SIZE} jobs`);
    const t0 = performance.now();
    try {
      const jobs = await startJobs(server.url, repo, FLEET_SIZE, (i) => `fleet job ${i}`, 'review', 300_000);
      const startSeconds = (performance.now() - t0) / 1000;
      ctx.log(`fleet: ${FLEET_SIZE} jobs idle in review after ${startSeconds.toFixed(0)} s`);
      return { server, home, repo, jobs, startSeconds, spool: join(ctx.profileDir ?? dir, 'spool-fleet') };
    } catch (e) {
      await server.stop();
      throw e;
    }
  })();
  return fleet;
}

export async function stopFleet(): Promise<void> {
  const f = fleet;
  fleet = undefined;
  if (f) await (await f.catch(() => undefined))?.server.stop();
}
