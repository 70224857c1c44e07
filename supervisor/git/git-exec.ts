import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { KeyedLock } from './keyed-lock.ts';
import { DRIVER_SCAN_ARGS, gitInvocation, needsDriverScan, parseConfigNames } from '../../machines/git-invocation.ts';

/**
 * The server's git runner: every git command CodePlane runs goes through runGit (or DiffPool.git,
 * the same from a pool thread), which runs it hardened by machines/git-invocation.ts: no hook,
 * fsmonitor, filter or merge driver, external diff or ssh command of the repository runs, and
 * git sees none of the server's GIT_* variables. test/unit/git-spawn-sites.test.ts checks that
 * no other module starts git.
 *
 *
 * WHY not simple-git here: merge/diff need the exact exit code together with
 * stdout (`git merge-tree` answers "conflicts" as exit 1 *with* output),
 * per-call environment (`GIT_INDEX_FILE` for the temporary diff index) and
 * binary-safe output (`-z`). A spawn wrapper gives all three without fighting
 * a library's error translation.
 */
export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GitRunOptions {
  env?: Record<string, string>;
  input?: string;
  /** Exit codes that are answers, not failures (e.g. `[0, 1]` for merge-tree). */
  okCodes?: readonly number[];
  timeoutMs?: number;
}

export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly result: GitResult,
  ) {
    super(`git ${args.join(' ')} failed (${result.code}): ${tail(result.stderr || result.stdout, 2000)}`);
    this.name = 'GitCommandError';
  }
}

/** How a git command is run: runGit here, or DiffPool.git from a pool thread. */
export type GitRun = (cwd: string, args: readonly string[], opts?: GitRunOptions) => Promise<GitResult>;

/** One git process as gitInvocation builds it, its whole output collected. */
export type GitSpawn = (cwd: string, args: readonly string[], opts: GitSpawnOptions) => Promise<GitResult>;
export interface GitSpawnOptions {
  env?: Record<string, string>;
  driverNames?: readonly string[];
  input?: string;
  timeoutMs: number;
}

/**
 * `git <args>` hardened (machines/git-invocation.ts). A command that may run a filter or
 * merge driver first asks git which ones the repository configures, so each is switched off.
 */
export async function runHardened(spawnGit: GitSpawn, cwd: string, args: readonly string[], opts: GitRunOptions = {}): Promise<GitResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  // The scan reads the configuration exactly as the command will (same cwd, same GIT_DIR/GIT_COMMON_DIR).
  const driverNames = needsDriverScan(args) ? await scanDrivers(spawnGit, cwd, timeoutMs, opts.env) : undefined;
  const result = await spawnGit(cwd, args, {
    timeoutMs,
    ...(opts.env ? { env: opts.env } : {}),
    ...(driverNames?.length ? { driverNames } : {}),
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
  if ((opts.okCodes ?? [0]).includes(result.code)) return result;
  throw new GitCommandError(args, result);
}

/** The filter and merge drivers configured for `cwd` (machines/git-invocation.ts DRIVER_SCAN_ARGS). */
export async function scanDrivers(spawnGit: GitSpawn, cwd: string, timeoutMs = 120_000, env?: Record<string, string>): Promise<string[]> {
  const scan = await spawnGit(cwd, DRIVER_SCAN_ARGS, { timeoutMs, ...(env ? { env } : {}) });
  // 1: none configured. Anything else (not a repository, unreadable config): the command fails by itself.
  return scan.code === 0 ? parseConfigNames(scan.stdout) : [];
}

/** One hardened git process started from this thread. */
export const spawnGitHere: GitSpawn = (cwd, args, opts) =>
  new Promise((resolve, reject) => {
    const inv = gitInvocation(args, { inherited: process.env, ...(opts.env ? { env: opts.env } : {}), ...(opts.driverNames ? { driverNames: opts.driverNames } : {}) });
    const child = spawn('git', inv.args, { cwd, env: inv.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
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
      });
    });
    child.stdin.on('error', () => undefined); // git may exit before reading its input
    child.stdin.end(opts.input ?? '');
  });

/** Runs `git <args>` in `cwd`; rejects with GitCommandError unless the exit code is in `okCodes` (default `[0]`). */
export function runGit(cwd: string, args: readonly string[], opts: GitRunOptions = {}): Promise<GitResult> {
  if (args[0] === 'worktree' && WORKTREE_WRITES.has(args[1] ?? '')) return worktreeLock.run(lockKey(cwd), () => runHardened(spawnGitHere, cwd, args, opts));
  return runHardened(spawnGitHere, cwd, args, opts);
}

/** `git worktree` subcommands that change a repository's worktree registrations: one at a time per repository. */
const WORKTREE_WRITES = new Set(['add', 'remove', 'move', 'prune', 'lock', 'unlock', 'repair']);
const worktreeLock = new KeyedLock();
const lockKey = (cwd: string): string => {
  try {
    return realpathSync(cwd);
  } catch {
    return cwd;
  }
};

/** `git <args>` stdout, trimmed. */
export async function gitOut(cwd: string, args: readonly string[], opts: GitRunOptions = {}): Promise<string> {
  return (await runGit(cwd, args, opts)).stdout.trim();
}

/** The commit a ref points at, or undefined when it does not exist. */
export async function revParse(cwd: string, ref: string, run: GitRun = runGit): Promise<string | undefined> {
  const r = await run(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { okCodes: [0, 1, 128] });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** `true` when `ancestor` is reachable from `descendant` (`merge-base --is-ancestor`). */
export async function isAncestor(cwd: string, ancestor: string, descendant: string): Promise<boolean> {
  return (await runGit(cwd, ['merge-base', '--is-ancestor', ancestor, descendant], { okCodes: [0, 1] })).code === 0;
}

/** Splits `-z` output into its non-empty fields. */
export const splitZ = (s: string): string[] => s.split('\0').filter((x) => x.length > 0);

/** The last `max` characters: enough to show the reason without flooding a response. */
export function tail(s: string, max = 4000): string {
  const t = s.trim();
  return t.length <= max ? t : `…${t.slice(t.length - max)}`;
}
