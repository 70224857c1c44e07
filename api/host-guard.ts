/**
 * Request defences that hold in every mode, loopback included:
 *  - DNS rebinding: the `Host` header must name this server (localhost,
 *    127.0.0.1, [::1], the configured host, the tunnel host, config
 *    `allowedHosts`), else 403 HOST_NOT_ALLOWED;
 *  - CSRF: a state-changing request (POST/PUT/PATCH/DELETE) from a foreign
 *    `Origin` (or `Sec-Fetch-Site: cross-site`) is 403 ORIGIN_NOT_ALLOWED;
 *  - a NUL or control character in the URL is 400 INVALID_URL, a `..` segment 400 INVALID_PATH.
 * Nothing is trusted because of the address it came from.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, Next } from 'koa';
import { AppError } from '../machines/app-error.ts';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** `example.com:8080` → `example.com`; `[::1]:80` → `[::1]`; anything malformed → undefined. */
export function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(hostHeader.trim());
  return m ? m[1]!.toLowerCase() : undefined;
}

/** A host written as it appears in a Host header (IPv6 in brackets), lower-case. */
export const asHostName = (host: string): string => {
  const h = host.trim().toLowerCase();
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
};

/** The names this server answers to. Mutable: a tunnel's host is added once the tunnel is up. */
export class HostPolicy {
  private readonly names = new Set(LOOPBACK_NAMES);
  /** Hosts only reachable over HTTPS (a tunnel terminates TLS and forwards plain HTTP to us). */
  private readonly httpsNames = new Set<string>();
  /** CodePlane's own port, which the preview proxy never forwards to. */
  ownPort = 0;

  constructor(extra: readonly string[] = []) {
    for (const h of extra) this.allow(h);
  }

  allow(host: string, opts: { https?: boolean } = {}): void {
    const name = asHostName(host);
    this.names.add(name);
    if (opts.https) this.httpsNames.add(name);
  }

  isAllowed(hostHeader: string | undefined): boolean {
    const name = hostnameOf(hostHeader);
    return name !== undefined && this.names.has(name);
  }

  isHttps(req: IncomingMessage): boolean {
    if ('encrypted' in req.socket && req.socket.encrypted) return true;
    const name = hostnameOf(req.headers.host);
    return name !== undefined && this.httpsNames.has(name);
  }

  /** Where the browser sees us: `https://tunnel-host` or `http://127.0.0.1:8080`. */
  origin(req: IncomingMessage): string {
    return `${this.isHttps(req) ? 'https' : 'http'}://${(req.headers.host ?? '').toLowerCase()}`;
  }
}

/**
 * Same-origin check: the Origin (when sent) must be this very origin — the scheme the browser
 * reaches us with (HTTPS through a tunnel), the host and the port, each compared on its own; a
 * browser's cross-site marker without an Origin also fails.
 */
export function originAllowed(req: IncomingMessage, policy: HostPolicy): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return req.headers['sec-fetch-site'] !== 'cross-site' && req.headers['sec-fetch-site'] !== 'same-site';
  let url: URL;
  let ours: URL;
  try {
    url = new URL(origin);
    // Parsed the same way, so a default port written out (`:443`) compares equal to none.
    ours = new URL(policy.origin(req));
  } catch {
    return false; // includes the opaque origin "null" (sandboxed frames, file://)
  }
  if (url.protocol !== ours.protocol) return false;
  return url.host === ours.host;
}

/** A `.` or `..` path segment, also percent-encoded or with backslashes: no client needs one, traversal attacks do. */
export function hasDotSegment(path: string): boolean {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    /* a malformed escape is not a dot segment; routes refuse it themselves */
  }
  return [path, decoded].some((p) => p.split(/[/\\]/).some((seg) => seg === '.' || seg === '..'));
}

/** The guard for ordinary (non-upgrade) requests; WebSocket upgrades get the same checks in preview-upgrade.ts. */
export function requestGuard(policy: HostPolicy) {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (!policy.isAllowed(ctx.get('host') || undefined)) throw new AppError('forbidden', 'HOST_NOT_ALLOWED', 'this server does not answer to that host name');
    // Raw control characters anywhere; encoded ones in the path (a query may carry an encoded newline, a path never does).
    if (/%00|[\u0000-\u001f\u007f]/i.test(ctx.url) || /%[01][0-9a-f]|%7f/i.test(ctx.path)) throw new AppError('invalid', 'INVALID_URL', 'the URL holds a NUL or control character');
    if (hasDotSegment(ctx.path)) throw new AppError('invalid', 'INVALID_PATH', 'the path holds a "." or ".." segment');
    if (STATE_CHANGING.has(ctx.method) && !originAllowed(ctx.req, policy)) throw new AppError('forbidden', 'ORIGIN_NOT_ALLOWED', 'cross-origin requests may not change anything');
    await next();
  };
}
