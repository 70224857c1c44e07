/**
 * How the local `cpl` commands reach the running server: its address from run/server.json and
 * the per-run CLI token from run/cli-token (or CPL_TOKEN), which never passes the login limiter.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliUsageError } from './cli-auth.ts';
import { pathsFor, resolveHome } from '../paths.ts';

export type Json = Record<string, unknown>;

export interface Connection {
  url: string;
  headers: Record<string, string>;
}

export function connection(): Connection {
  const paths = pathsFor(resolveHome());
  let info: { url?: unknown };
  try {
    info = JSON.parse(readFileSync(paths.serverInfo, 'utf8')) as { url?: unknown };
  } catch {
    throw new CliUsageError('no server is running; start one with `cpl up`');
  }
  if (typeof info.url !== 'string') throw new CliUsageError(`${paths.serverInfo} is damaged; restart the server`);
  const tokenFile = join(paths.run, 'cli-token');
  const token = process.env['CPL_TOKEN'] || (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '');
  return { url: info.url, headers: token ? { authorization: `Bearer ${token}` } : {} };
}

export async function call(c: Connection, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${c.url}${path}`, { method, headers: { ...c.headers, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) }).catch(() => {
    throw new CliUsageError(`the server at ${c.url} does not answer`);
  });
  const text = await res.text();
  let parsed: unknown = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    throw new CliUsageError(`the server at ${c.url} answered ${res.status} with something that is not JSON`);
  }
  return { status: res.status, body: (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Json };
}
