import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './server-process.ts';

export interface CplRun {
  code: number | null;
  out: string;
}

/** Runs `cpl ...` to completion (killed after `ms`), feeding `stdin` when given. */
export function cpl(args: string[], env: NodeJS.ProcessEnv, opts: { stdin?: string; ms?: number; cwd?: string } = {}): Promise<CplRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/cpl.js'), ...args], { env: { ...process.env, ...env }, cwd: opts.cwd ?? tmpdir() });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
    else child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.ms ?? 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** Starts `cpl ...` and leaves it running, for interactive commands (`cpl run`). */
export function cplInteractive(args: string[], env: NodeJS.ProcessEnv, cwd = tmpdir()): { child: ChildProcess; output: () => string; waitFor: (re: RegExp, ms?: number) => Promise<string>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [join(ROOT, 'bin/cpl.js'), ...args], { env: { ...process.env, ...env }, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (re: RegExp, ms = 30_000): Promise<string> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(out);
      if (m) return m[0];
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`timed out waiting for ${re} in:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, output: () => out, waitFor, exited };
}
