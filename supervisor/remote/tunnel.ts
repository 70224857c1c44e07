/**
 * `cpl up --remote`: a public HTTPS URL for the local server through
 * `cloudflared` (a quick tunnel, no account needed) or, when only it is
 * installed, `devtunnel`. The tunnel runs as our child and dies with us. Its
 * host is added to the allowed hosts by the caller; authentication is always
 * required with a tunnel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export type TunnelKind = 'cloudflared' | 'devtunnel';

export interface Tunnel {
  kind: TunnelKind;
  url: string;
  host: string;
  pid: number | undefined;
  close(): Promise<void>;
}

export class TunnelError extends Error {
  override name = 'TunnelError';
}

/** The absolute path of an executable named `name` on PATH, or undefined. */
export function findOnPath(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

const COMMANDS: Record<TunnelKind, { args: (port: number) => string[]; url: RegExp }> = {
  cloudflared: { args: (port) => ['tunnel', '--url', `http://127.0.0.1:${port}`], url: /https:\/\/[a-z0-9-]+\.trycloudflare\.com\b/i },
  devtunnel: { args: (port) => ['host', '-p', String(port), '--allow-anonymous'], url: /https:\/\/[a-z0-9-]+(?:\.[a-z0-9-]+)*\.devtunnels\.ms\b/i },
};

/** Which tunnel CLI would be used: cloudflared first, then devtunnel. */
export function availableTunnel(): { kind: TunnelKind; path: string } | undefined {
  for (const kind of ['cloudflared', 'devtunnel'] as const) {
    const path = findOnPath(kind);
    if (path) return { kind, path };
  }
  return undefined;
}

export async function startTunnel(port: number, opts: { timeoutMs?: number } = {}): Promise<Tunnel> {
  const found = availableTunnel();
  if (!found) throw new TunnelError('--remote needs cloudflared (https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/) or devtunnel on PATH');
  const { kind, path } = found;
  const child = spawn(path, COMMANDS[kind].args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new TunnelError(`${kind} printed no public URL within ${Math.round((opts.timeoutMs ?? 30_000) / 1000)} s:\n${output.slice(-1000)}`)), opts.timeoutMs ?? 30_000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.kill('SIGTERM');
      reject(e);
    };
    const scan = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-16_384);
      const m = COMMANDS[kind].url.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[0].toLowerCase());
      }
    };
    child.stdout!.on('data', scan);
    child.stderr!.on('data', scan);
    child.once('error', (e) => fail(new TunnelError(`cannot start ${kind}: ${e.message}`)));
    child.once('exit', (code) => fail(new TunnelError(`${kind} exited (${code}) before printing a public URL:\n${output.slice(-1000)}`)));
  });
  // Keep draining its output so a chatty tunnel never blocks on a full pipe.
  child.stdout!.resume();
  child.stderr!.resume();
  return { kind, url, host: new URL(url).hostname, pid: child.pid, close: () => stop(child) };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
