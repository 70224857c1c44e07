import { spawn } from 'node:child_process';

/**
 * A thin `git` runner for the review/land modules.
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

/**
 * Variables that would redirect git away from `cwd` if the server itself was
 * started from a git hook or a `git rebase -x` shell. Never inherit them.
 */
const LEAKY_GIT_ENV = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_PREFIX',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
];

let baseEnv: Readonly<NodeJS.ProcessEnv> | undefined;

/**
 * The environment of a git command: the server's, minus variables that would point git at
 * another repository, plus `extra`. Built once (copying process.env per command was 2.5 % of
 * a busy server's main thread): the server never changes its environment after it starts.
 */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  if (!baseEnv) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of LEAKY_GIT_ENV) delete env[k];
    // Never block on a credential prompt or an editor: nobody is at this terminal.
    env.GIT_TERMINAL_PROMPT = '0';
    env.GIT_EDITOR = 'true';
    baseEnv = Object.freeze(env);
  }
  return Object.keys(extra).length === 0 ? baseEnv : { ...baseEnv, ...extra };
}

/** How a git command is run: runGit here, or DiffPool.git from a pool thread. */
export type GitRun = (cwd: string, args: readonly string[], opts?: GitRunOptions) => Promise<GitResult>;

/** Runs `git <args>` in `cwd`; rejects with GitCommandError unless the exit code is in `okCodes` (default `[0]`). */
export function runGit(cwd: string, args: readonly string[], opts: GitRunOptions = {}): Promise<GitResult> {
  const okCodes = opts.okCodes ?? [0];
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: gitEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (okCodes.includes(result.code)) resolve(result);
      else reject(new GitCommandError(args, result));
    });
    child.stdin.on('error', () => undefined); // git may exit before reading its input
    child.stdin.end(opts.input ?? '');
  });
}

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
