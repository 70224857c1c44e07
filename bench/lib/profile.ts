/**
 * CPU profiling of CodePlane's own processes during a benchmark's measured
 * window (`npm run bench -- --profile`): servers started with `profileEnv`
 * load bench/lib/cpu-profile-preload.mjs through NODE_OPTIONS, which their
 * workers inherit. `startProfiling` signals the server and every worker to
 * start; `stopProfiling` signals them to stop and write, then files the
 * profiles under <profileDir>/<label>/.
 */
import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { cmdline, processesWithHome } from './procs.ts';
import { ROOT } from './root.ts';
import { sleep } from './stats.ts';

/** The environment for a profiled server; its processes write into `spool` (autostart: from launch to exit). */
export function profileEnv(spool: string, autostart = false): NodeJS.ProcessEnv {
  mkdirSync(spool, { recursive: true });
  return {
    NODE_OPTIONS: `--import=${join(ROOT, 'bench/lib/cpu-profile-preload.mjs')}`,
    CPL_BENCH_PROF_DIR: spool,
    CPL_BENCH_PROF_MATCH: 'bin/cpl.js|dist/cpl.js|workers/main.ts|dist/worker',
    ...(autostart ? { CPL_BENCH_PROF_AUTOSTART: '1' } : {}),
  };
}

/** The server and the workers of `jobIds` (all workers when not given). */
function signalAll(home: string, serverPid: number, jobIds?: readonly string[]): void {
  const isTarget = (cmd: string) => /(workers\/main\.ts|dist\/worker\/[0-9a-f]+\/main\.js|dist\/worker\.js) --job /.test(cmd) && (!jobIds || jobIds.some((id) => cmd.includes(`--job ${id} `)));
  const targets = [serverPid, ...processesWithHome(home).filter((p) => isTarget(cmdline(p)))];
  for (const pid of new Set(targets)) {
    try {
      process.kill(pid, 'SIGUSR2');
    } catch {
      /* gone */
    }
  }
}

export function startProfiling(home: string, serverPid: number, jobIds?: readonly string[]): void {
  signalAll(home, serverPid, jobIds);
}

/** Stops and writes the profiles, then moves what the spool holds to <profileDir>/<label>/. */
export async function stopProfiling(home: string, serverPid: number, spool: string, profileDir: string, label: string, jobIds?: readonly string[]): Promise<void> {
  signalAll(home, serverPid, jobIds);
  await sleep(2000);
  fileProfiles(spool, profileDir, label);
}

export function fileProfiles(spool: string, profileDir: string, label: string): void {
  const dest = join(profileDir, label);
  mkdirSync(dest, { recursive: true });
  for (const f of readdirSync(spool).filter((f) => f.endsWith('.cpuprofile'))) renameSync(join(spool, f), join(dest, f));
}
