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

/**
 * The host pids of a job's agent CLIs, from its log lines. Sandboxed, the worker names the
 * sandbox's (bubblewrap's) host pid: the fake inside knows only its pid-namespace pid, and the
 * namespace, with the CLI and all it ran, dies with that process. Unsandboxed, the fake's own.
 */
export function agentPids(messages: readonly string[], cli: string): number[] {
  const take = (re: RegExp): number[] => messages.flatMap((m) => re.exec(m)?.[1] ?? []).map(Number);
  const sandboxed = take(/agent sandbox started pid=(\d+)/);
  return sandboxed.length > 0 ? sandboxed : take(new RegExp(`${cli} started pid=(\\d+)`));
}

/** Host pids of processes whose command line contains `needle` (a sandboxed tool's own `$$` is a namespace pid). */
export function pidsByCommandLine(needle: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', needle], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number).filter((p) => p !== process.pid);
  } catch {
    return [];
  }
}
