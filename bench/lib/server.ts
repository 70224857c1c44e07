/**
 * The real server (`cpl up`) as a child process with its own CODEPLANE_HOME,
 * like test/helpers/server-process.ts but with what benchmarks need: the pid
 * (for RSS), extra node flags (for --cpu-prof), and a stop that leaves no
 * process behind (everything carrying the home is killed at the end).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { trackHome } from './children.ts';
import { killByHome } from './procs.ts';
import { FAKE_CLAUDE, ROOT } from './root.ts';

export interface BenchServer {
  url: string;
  home: string;
  pid: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export async function startBenchServer(opts: { home: string; cwd: string; env?: NodeJS.ProcessEnv; nodeArgs?: string[] }): Promise<BenchServer> {
  trackHome(opts.home);
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), join(ROOT, 'bin/cpl.js'), 'up', '--port', '0'], {
    cwd: opts.cwd,
    env: { ...process.env, CODEPLANE_HOME: opts.home, CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE, HOME: opts.home, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out = (out + c).slice(-20_000)));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out = (out + c).slice(-20_000)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s: ${out}`)), 60_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}`));
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    url,
    home: opts.home,
    pid: child.pid!,
    child,
    output: () => out,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((r) => child.once('exit', () => r()));
          child.kill('SIGTERM');
          // The server checkpoints its workers (5 s grace) before it exits.
          await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        }
        killByHome(opts.home);
      })()),
  };
}

/**
 * One HTTP request on its own connection (no keep-alive pool: a pooled socket
 * the server is closing at that moment turns into ECONNRESET on a loaded machine).
 */
export function request(url: string, method = 'GET', body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, agent: false, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function api<T = unknown>(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const r = await request(`${base}${path}`, method, body === undefined ? undefined : JSON.stringify(body));
  return { status: r.status, body: (r.text ? JSON.parse(r.text) : undefined) as T };
}

/** One timed GET (connection included); returns milliseconds. */
export async function timedGet(url: string): Promise<number> {
  const t0 = performance.now();
  const r = await request(url);
  if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status}`);
  return performance.now() - t0;
}
