import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { threadId } from 'node:worker_threads';
import type { GitTaskInput, GitTaskOutput } from '../../machines/diff-types.ts';
import { gitInvocation } from '../../machines/git-invocation.ts';

/**
 * Piscina task: run one short git command on a pool thread.
 *
 * WHY: starting a process forks the whole supervisor, and fork copies the
 * page tables of every byte it has mapped. On a busy workstation each spawn
 * from the supervisor's own thread stalled its event loop for 5–20 ms
 * (measured: bench/RESULTS.md); fifty jobs entering review at once meant
 * seconds in which no SSE frame, acknowledgement or HTTP answer went out.
 * From a pool thread the same fork blocks only that thread.
 */
export default function gitTask(input: GitTaskInput): Promise<GitTaskOutput> {
  return runGitProcess(input);
}

/**
 * A git process as the server runs every git process: argv and environment from
 * gitInvocation (no hook, fsmonitor, driver or external program of the repository runs).
 * The diff task streams the patch from one of these too.
 */
export function spawnHardenedGit(input: Pick<GitTaskInput, 'cwd' | 'args' | 'env' | 'driverNames'>, stdin: 'pipe' | 'ignore'): ChildProcessByStdio<Writable | null, Readable, Readable> {
  const inv = gitInvocation(input.args, { inherited: process.env, ...(input.env ? { env: input.env } : {}), ...(input.driverNames ? { driverNames: input.driverNames } : {}) });
  return spawn('git', inv.args, { cwd: input.cwd, env: inv.env, stdio: [stdin, 'pipe', 'pipe'] }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
}

/** One git process, its whole output collected (also used by the diff task for numstat). */
export function runGitProcess(input: GitTaskInput): Promise<GitTaskOutput> {
  return new Promise((resolve, reject) => {
    const child = spawnHardenedGit(input, 'pipe');
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), input.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        threadId,
      });
    });
    child.stdin?.on('error', () => undefined); // git may exit before reading its input
    child.stdin?.end(input.input ?? '');
  });
}
