import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FAKE_CLAUDE = join(ROOT, 'test/fixtures/fake-claude');

export interface ServerProcess {
  url: string;
  home: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<number | null>;
}

/** Starts the real `cpl up` as a child process on a free port with its own CODEPLANE_HOME. */
export async function startServerProcess(opts: { cwd: string; home?: string; env?: NodeJS.ProcessEnv; args?: string[]; nodeArgs?: string[] }): Promise<ServerProcess> {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'cpl-home-'));
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), join(ROOT, 'bin/cpl.js'), 'up', '--port', '0', ...(opts.args ?? [])], {
    cwd: opts.cwd,
    env: { ...process.env, CODEPLANE_HOME: home, CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE, HOME: home, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const url = await new Promise<string>((resolve, reject) => {
    // A server that does not come up is killed: left running, its pipes would keep the test process alive forever.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within 60 s: ${out}`));
    }, 60_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}`));
    });
  });
  return {
    url,
    home,
    child,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        // A process killed by a signal has exitCode null but signalCode set: it is gone all the same.
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

export async function api<T = unknown>(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}
