import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { droppedFromGitEnv } from '../../machines/git-invocation.ts';
import { runGit, splitZ } from './git-exec.ts';

/**
 * Per-repository preparation of a fresh job worktree.
 *
 * WHY `.worktreeinclude`: a new worktree is a clean checkout, so gitignored
 * local files the project needs to run (`.env`, local certificates) are
 * missing and the agent's first test run fails. The repo lists them with
 * gitignore-style patterns; we copy ONLY files that match AND are ignored by
 * git — a tracked or merely untracked file is never copied, so the file can't
 * be used to smuggle arbitrary content into a job. Matching uses git itself
 * (`ls-files --exclude-from`, `check-ignore`) so the semantics are exactly
 * gitignore's, negations and directory patterns included.
 */
export const WORKTREE_INCLUDE_FILE = '.worktreeinclude';

export interface CopyIncludesResult {
  copied: string[];
  /** Matched files not copied: not regular files, or already present in the worktree. */
  skipped: string[];
}

export async function copyWorktreeIncludes(opts: { repoPath: string; worktreePath: string }): Promise<CopyIncludesResult> {
  const result: CopyIncludesResult = { copied: [], skipped: [] };
  const includeFile = join(opts.repoPath, WORKTREE_INCLUDE_FILE);
  const patterns = await readFile(includeFile, 'utf8').catch(() => '');
  if (!patterns.trim()) return result;
  const matched = await runGit(opts.repoPath, ['ls-files', '-z', '--others', '--ignored', `--exclude-from=${includeFile}`]);
  const candidates = splitZ(matched.stdout);
  if (candidates.length === 0) return result;
  const ignored = await runGit(opts.repoPath, ['check-ignore', '-z', '--stdin'], { input: candidates.join('\0') + '\0', okCodes: [0, 1] });
  for (const rel of splitZ(ignored.stdout).sort()) {
    const dest = join(opts.worktreePath, rel);
    const src = join(opts.repoPath, rel);
    const st = await lstat(src).catch(() => undefined);
    if (!st?.isFile() || relative(opts.worktreePath, dest).startsWith('..')) {
      result.skipped.push(rel);
      continue;
    }
    await mkdir(dirname(dest), { recursive: true });
    // COPYFILE_EXCL: never overwrite something already in the worktree.
    const ok = await copyFile(src, dest, constants.COPYFILE_EXCL).then(
      () => true,
      () => false,
    );
    (ok ? result.copied : result.skipped).push(rel);
  }
  return result;
}

export type SetupResult =
  | { ok: true; exitCode: 0; durationMs: number; tail: string[] }
  | {
      ok: false;
      code: 'SETUP_FAILED' | 'SETUP_TIMED_OUT' | 'SETUP_SPAWN_FAILED';
      exitCode: number | null;
      signal: NodeJS.Signals | null;
      durationMs: number;
      /** The last lines of combined output, for the failure reason shown to the user. */
      tail: string[];
    };

export interface SetupCommandOptions {
  worktreePath: string;
  /** A shell command line (`npm ci && npm run build`), run with /bin/sh in the worktree. */
  command: string;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  timeoutMs?: number;
  env?: Record<string, string>;
  tailLines?: number;
}

/**
 * The setup command's environment: the server's, without CodePlane's own variables (the login
 * password is not the repository's business: `npm ci` runs the repository's scripts) and
 * without GIT_* (a GIT_DIR inherited by the server would point the command's git elsewhere).
 */
function setupEnv(inherited: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(inherited)) if (!droppedFromGitEnv(k)) env[k] = v;
  return env;
}

/**
 * Runs the repo's setup command in the worktree, streaming each output line.
 * The command runs in its own process group so a timeout ends everything it
 * started (a dev server, a watcher), not just the shell.
 */
export function runSetupCommand(opts: SetupCommandOptions): Promise<SetupResult> {
  const started = performance.now();
  const keep = opts.tailLines ?? 40;
  const tail: string[] = [];
  const emit = (line: string, stream: 'stdout' | 'stderr') => {
    tail.push(line);
    if (tail.length > keep) tail.shift();
    try {
      opts.onLine?.(line, stream);
    } catch {
      /* a listener's bug must not break the setup run */
    }
  };
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', opts.command], {
      cwd: opts.worktreePath,
      env: { ...setupEnv(process.env), ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL'); // the group we created, and only it
      } catch {
        /* already gone */
      }
    }, opts.timeoutMs ?? 10 * 60_000);
    const carry = { stdout: '', stderr: '' };
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream].setEncoding('utf8').on('data', (chunk: string) => {
        const parts = (carry[stream] + chunk).split(/\r?\n/);
        carry[stream] = parts.pop() ?? '';
        for (const p of parts) emit(p, stream);
      });
    }
    let settled = false;
    const finish = (r: SetupResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    child.on('error', (e) => finish({ ok: false, code: 'SETUP_SPAWN_FAILED', exitCode: null, signal: null, durationMs: Math.round(performance.now() - started), tail: [e.message] }));
    const done = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      for (const stream of ['stdout', 'stderr'] as const) if (carry[stream]) emit(carry[stream], stream);
      carry.stdout = carry.stderr = '';
      const durationMs = Math.round(performance.now() - started);
      if (exitCode === 0 && !timedOut) finish({ ok: true, exitCode: 0, durationMs, tail });
      else finish({ ok: false, code: timedOut ? 'SETUP_TIMED_OUT' : 'SETUP_FAILED', exitCode, signal, durationMs, tail });
    };
    child.on('close', done);
    // A background process the command left behind keeps the pipes open: after the shell
    // exits, give the output a moment to drain, then stop waiting for it.
    child.on('exit', (exitCode, signal) => {
      setTimeout(() => {
        if (settled) return;
        child.stdout.destroy();
        child.stderr.destroy();
        done(exitCode, signal);
      }, 500);
    });
  });
}
