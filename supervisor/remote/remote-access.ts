/**
 * Wiring for everything that makes remote supervision safe: authentication,
 * allowed hosts, share links, Web Push, the WebSocket paths (terminals, preview),
 * and the tunnel. server.ts calls `setupRemoteAccess` before listening (it
 * refuses an exposed server without authentication) and `attach` after.
 */
import { rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { homedir, hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ClientKeys } from '../../api/client-address.ts';
import { onClientError } from '../../api/client-error.ts';
import { HostPolicy } from '../../api/host-guard.ts';
import type { TerminalsPort } from '../../api/ports.ts';
import type { TerminalSocketOptions } from '../../api/terminal-socket.ts';
import { upgradeRouter } from '../../api/upgrade-router.ts';
import { AuthStore, newCliToken } from '../auth/auth-store.ts';
import type { FileConfig } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { EventHub } from '../events/event-hub.ts';
import { MIN_PASSWORD_LENGTH } from '../auth/password-hash.ts';
import type { Paths } from '../paths.ts';
import { PushHostsError, allowedPushHosts } from '../push/push-endpoint.ts';
import { DEFAULT_PUSH_SUBJECT, PushService, loadOrCreateVapidKeys, validPushSubject, type VapidKeys } from '../push/push.ts';
import { ShareStore } from '../shares/shares.ts';
import { createRedactor, secretValuesFrom } from '../../machines/redact.ts';
import { availableTunnel, startTunnel, type Tunnel } from './tunnel.ts';

/** Terminal WebSocket tuning from the environment (docs/configuration.md); anything but a positive integer is ignored. */
function terminalSocketOptions(): TerminalSocketOptions {
  const env = (name: string): number | undefined => {
    const n = Number(process.env[name] ?? '');
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  };
  const [keepAliveMs, slowClientMs] = [env('CPL_TERMINAL_KEEPALIVE_MS'), env('CPL_TERMINAL_SLOW_CLIENT_MS')];
  return { ...(keepAliveMs ? { keepAliveMs } : {}), ...(slowClientMs ? { slowClientMs } : {}) };
}

export class RemoteAccessError extends Error {
  override name = 'RemoteAccessError';
}

export const isLoopbackHost = (host: string): boolean => {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
};

/** The names a browser may use for a server listening on `host`. */
function namesFor(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host];
  const names = [hostname(), `${hostname()}.local`];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.push(a.address);
  return names;
}

export interface RemoteAccessOptions {
  host: string;
  remote: boolean;
  password?: string;
  config: FileConfig;
  paths: Paths;
  db: Db;
  hub: EventHub;
  log: Logger;
  lastEventId: () => number;
}

export async function setupRemoteAccess(o: RemoteAccessOptions) {
  const exposed = o.remote || !isLoopbackHost(o.host);
  if (o.password !== undefined && o.password.length < MIN_PASSWORD_LENGTH) throw new RemoteAccessError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  const cliToken = newCliToken();
  const auth = await AuthStore.open(o.db, { exposed, cliToken, ...(o.password !== undefined ? { runPassword: o.password } : {}) });
  if (exposed && !auth.configured())
    throw new RemoteAccessError(
      `refusing to ${o.remote ? 'open a tunnel' : `listen on ${o.host}`} without authentication: anyone who reaches this server could run commands on this machine. ` +
        'Set a password with `cpl password set`, CPL_PASSWORD or `cpl up --password P` (or create an API token with `cpl token create`).',
    );
  if (o.remote && !availableTunnel()) throw new RemoteAccessError('--remote needs `cloudflared` or `devtunnel` on PATH; install one (see `cpl doctor`)');
  const hosts = new HostPolicy([...o.config.allowedHosts, ...(isLoopbackHost(o.host) ? [] : namesFor(o.host))]);
  const clientKeys = new ClientKeys(o.config.trustedProxies); // entries were checked by loadConfig
  const cliTokenFile = join(o.paths.run, 'cli-token');
  try {
    writeFileSync(cliTokenFile, `${cliToken}\n`, { mode: 0o600 });
  } catch (e) {
    // A full disk must not stop the server (it starts read-only); only the local `cpl` commands lose their token.
    o.log.warn({ err: e, file: cliTokenFile }, 'could not write the local command token; `cpl` commands that need it will ask for a login');
  }
  const subject = o.config.pushSubject ?? DEFAULT_PUSH_SUBJECT;
  if (!validPushSubject(subject)) throw new RemoteAccessError(`config pushSubject must be a mailto: or https: URL, not "${subject}"`);
  let keys: VapidKeys;
  try {
    keys = loadOrCreateVapidKeys(join(o.paths.home, 'vapid.json'));
  } catch (e) {
    throw new RemoteAccessError(`cannot use the Web Push keys: ${e instanceof Error ? e.message : String(e)}`);
  }
  let pushHosts: Set<string>;
  try {
    pushHosts = allowedPushHosts(o.config.pushAllowedHosts, process.env['CPL_PUSH_ALLOWED_HOSTS']);
  } catch (e) {
    if (e instanceof PushHostsError) throw new RemoteAccessError(`CPL_PUSH_ALLOWED_HOSTS: ${e.message}`);
    throw e;
  }
  const push = new PushService({ db: o.db, hub: o.hub, keys, subject, log: o.log, allowedHosts: pushHosts });
  const ttlSeconds = Number(process.env['CPL_SHARE_TTL_SECONDS'] ?? '');
  // A share shows no secret of this server's environment (CPL_PASSWORD...) and none of its local paths.
  const scope = { codeplaneHome: o.paths.home, worktreesDir: o.paths.worktrees, userHome: process.env['HOME'] || homedir(), redactor: createRedactor(secretValuesFrom(process.env)) };
  const shares = new ShareStore(o.db, { lastEventId: o.lastEventId, scope, ...(Number.isSafeInteger(ttlSeconds) && ttlSeconds > 0 ? { ttlMs: ttlSeconds * 1000 } : {}) });
  let tunnel: Tunnel | undefined;

  return {
    auth,
    shares,
    push,
    hosts,
    clientKeys,
    /** After listen: WebSocket upgrades (job terminals, the preview proxy), parser errors, and the tunnel (whose host becomes an allowed, HTTPS-only name). */
    async attach(server: Server, port: number, terminals: TerminalsPort): Promise<{ tunnelUrl?: string }> {
      hosts.ownPort = port;
      server.on('upgrade', upgradeRouter({ hosts, auth, terminals, log: o.log, options: terminalSocketOptions() }));
      server.on('clientError', onClientError);
      if (!o.remote) return {};
      tunnel = await startTunnel(port).catch((e: unknown) => {
        throw new RemoteAccessError(e instanceof Error ? e.message : String(e));
      });
      hosts.allow(tunnel.host, { https: true });
      // Login attempts through the tunnel are counted per visitor, by the address the tunnel service saw.
      clientKeys.tunnel = { host: tunnel.host, kind: tunnel.kind };
      o.log.info({ kind: tunnel.kind, url: tunnel.url }, 'tunnel open');
      return { tunnelUrl: tunnel.url };
    },
    async close(): Promise<void> {
      await tunnel?.close();
      shares.close();
      await push.close();
      rmSync(cliTokenFile, { force: true });
    },
  };
}
