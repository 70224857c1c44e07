import { execFileSync } from 'node:child_process';

/** The pid of the worker process running a job (found by its command line). */
export function workerPid(jobId: string): number | undefined {
  return workerPids(jobId)[0];
}

/** Every worker process of a job: a test that means "the same single worker" must check there is one. */
export function workerPids(jobId: string): number[] {
  try {
    const out = execFileSync('pgrep', ['-f', `(workers/main[.]ts|dist/worker/[0-9a-f]+/main[.]js|dist/worker[.]js) --job ${jobId} `], { encoding: 'utf8' }).trim();
    return out.split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
