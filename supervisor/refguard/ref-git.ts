import { spawn } from 'node:child_process';

/**
 * The git the ref guard runs. WHY its own runner (for now): the guard runs git
 * in a repository an agent may have written to, right after that agent's turn,
 * so a hook or fsmonitor it planted (`update-ref` runs the
 * `reference-transaction` hook) must not run, and no `GIT_*` variable of the
 * server's own environment may redirect it. Until the shared hardened runner
 * (supervisor/git, issue 13 item 2) is on main, this is that runner in small.
 */
const HARDENING = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', '-c', 'core.untrackedCache=false', '-c', 'submodule.recurse=false'];

export interface RefGitResult {
  code: number;
  stdout: string;
  stderr: string;
}

let cleanEnv: NodeJS.ProcessEnv | undefined;

/** The server's environment without any `GIT_*` variable, never prompting. */
export function refGitEnv(): NodeJS.ProcessEnv {
  if (!cleanEnv) {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
    env['GIT_TERMINAL_PROMPT'] = '0';
    cleanEnv = Object.freeze(env);
  }
  return cleanEnv;
}

/** Runs `git <hardening> <args>` in `cwd`; resolves with the exit code (never rejects on a non-zero exit). */
export function refGit(cwd: string, args: readonly string[], timeoutMs = 30_000): Promise<RefGitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...HARDENING, ...args], { cwd, env: refGitEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** `git <args>` that must succeed: its stdout, or an Error naming the command and git's message. */
export async function refGitOk(cwd: string, args: readonly string[]): Promise<string> {
  const r = await refGit(cwd, args);
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed (${r.code}): ${r.stderr.trim().slice(0, 500)}`);
  return r.stdout;
}
