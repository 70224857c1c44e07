import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import type { DiffTaskInput, DiffTaskOutput, GitTaskInput, GitTaskOutput } from '../../machines/diff-types.ts';
import { runHardened, type GitResult, type GitRunOptions, type GitSpawn } from './git-exec.ts';
import { INSTALL } from '../install-paths.ts';

/**
 * The piscina pool that runs diff tasks off the supervisor's event loop.
 *
 * The task modules and the threads' node options come from install-paths.ts:
 * built JavaScript with no options in the package, the TypeScript sources with
 * tsx's loader in development (see INSTALL.taskExecArgv for why).
 */
const TASK_FILE = INSTALL.taskUrl('diff-task');
const GIT_TASK_FILE = INSTALL.taskUrl('git-task');

export interface DiffPoolOptions {
  /** Default: half the CPUs, at least 1, at most 4 — diffs are bursty, not sustained. */
  maxThreads?: number;
  /** Threads exit after this long without work (ms). Default 30 s. */
  idleTimeoutMs?: number;
  /** A thread that failed outside any task (it could not start, say): reported here, never thrown at the server. */
  onError?: (e: unknown) => void;
}

type Pool = Piscina<DiffTaskInput | GitTaskInput, DiffTaskOutput | GitTaskOutput>;

export class DiffPool {
  /** Made with the first task: piscina is loaded then, not while the server starts (about 40 ms of its start-up). */
  private pool: Promise<Pool> | undefined;
  /** The pool once made (for the synchronous threadIds). */
  private made: Pool | undefined;
  private closed = false;

  constructor(private readonly opts: DiffPoolOptions = {}) {}

  private started(): Promise<Pool> {
    return (this.pool ??= import('piscina').then(({ Piscina }) => {
      const pool: Pool = new Piscina({
        filename: TASK_FILE,
        execArgv: INSTALL.taskExecArgv(),
        minThreads: 0,
        maxThreads: this.opts.maxThreads ?? Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2))),
        idleTimeout: this.opts.idleTimeoutMs ?? 30_000,
      });
      // Piscina emits such failures as 'error' events: without a listener the process would die of one.
      pool.on('error', (e: unknown) => this.opts.onError?.(e));
      this.made = pool;
      return pool;
    }));
  }

  async run(input: DiffTaskInput, signal?: AbortSignal): Promise<DiffTaskOutput> {
    if (this.closed) throw new Error('diff pool is closed');
    const pool = await this.started();
    return (await pool.run(input, signal ? { signal } : {})) as DiffTaskOutput;
  }

  /** runGit (git-exec.ts), with each process started from a pool thread (see workers/tasks/git-task.ts). */
  async git(cwd: string, args: readonly string[], opts: GitRunOptions = {}): Promise<GitResult> {
    if (this.closed) throw new Error('diff pool is closed');
    return runHardened(this.spawnGit, cwd, args, opts);
  }

  private readonly spawnGit: GitSpawn = async (cwd, args, opts) => {
    if (this.closed) throw new Error('diff pool is closed');
    const input: GitTaskInput = {
      cwd,
      args: [...args],
      timeoutMs: opts.timeoutMs,
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.driverNames ? { driverNames: [...opts.driverNames] } : {}),
      ...(opts.input !== undefined ? { input: opts.input } : {}),
    };
    const out = (await (await this.started()).run(input, { filename: GIT_TASK_FILE })) as GitTaskOutput;
    return { code: out.code, stdout: out.stdout, stderr: out.stderr };
  };

  /** Graceful: running diffs finish, then threads exit. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pool) await (await this.pool).close();
  }

  /** Immediate: threads are terminated. Idempotent. */
  async destroy(): Promise<void> {
    this.closed = true;
    if (this.pool) await (await this.pool).destroy();
  }

  /** Thread ids currently alive (tests assert work really left the main thread). */
  get threadIds(): number[] {
    return this.made?.threads.map((t) => t.threadId) ?? [];
  }
}
