/**
 * The preview proxy's rules, shared by plain requests and WebSocket upgrades:
 * which port a URL names, which headers cross, how a redirect is rewritten.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../machines/app-error.ts';
import { SESSION_COOKIE } from './auth.ts';

export const PREVIEW_PREFIX = '/api/preview/';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'authorization', 'cookie', 'x-share-token']);

const portNotAllowed = (msg: string) => new AppError('invalid', 'PORT_NOT_ALLOWED', msg, { field: 'port' });

/**
 * `/api/preview/3000/x?y` → {port: 3000, path: '/x?y'}. Only plain decimal
 * ports 1024–65535 (no sign, no leading zero, no percent-encoding, no
 * `user@host`), and never CodePlane's own port. Undefined when the URL is not
 * a preview URL at all.
 */
export function previewTarget(rawUrl: string, ownPort: number): { port: number; path: string } | undefined {
  if (!rawUrl.startsWith(PREVIEW_PREFIX) && rawUrl !== PREVIEW_PREFIX.slice(0, -1)) return undefined;
  const rest = rawUrl.slice(PREVIEW_PREFIX.length);
  const m = /^([^/?#]*)(.*)$/s.exec(rest)!;
  const portText = m[1]!;
  if (!/^[1-9]\d{3,4}$/.test(portText)) throw portNotAllowed('the preview port must be a plain number from 1024 to 65535');
  const port = Number(portText);
  if (port < 1024 || port > 65535) throw portNotAllowed('the preview port must be a plain number from 1024 to 65535');
  if (port === ownPort) throw portNotAllowed("the preview proxy never forwards to CodePlane's own port");
  const tail = m[2]!;
  return { port, path: tail === '' ? '/' : tail.startsWith('?') ? `/${tail}` : tail };
}

/** Drops hop-by-hop headers and CodePlane's credentials (Authorization, its session cookie); keeps the app's own cookies. */
export function forwardRequestHeaders(h: IncomingHttpHeaders, port: number): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  const cookies = (h.cookie ?? '')
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '' && c.split('=')[0]!.trim() !== SESSION_COOKIE);
  if (cookies.length) out['cookie'] = cookies.join('; ');
  out['host'] = `localhost:${port}`;
  return out;
}

/** A response header the browser may see: never hop-by-hop, never a cookie that would overwrite CodePlane's session. */
export function keepResponseHeader(name: string, value: string): boolean {
  const k = name.toLowerCase();
  if (k === 'connection' || k === 'keep-alive' || k === 'transfer-encoding' || k === 'upgrade' || k === 'trailer' || k === 'proxy-authenticate') return false;
  if (k === 'set-cookie' && value.trim().split('=')[0]!.trim() === SESSION_COOKIE) return false;
  return true;
}

/**
 * A redirect stays a redirect (the proxy never follows one). Its Location is
 * rewritten into the proxy only when it points at the previewed app itself;
 * a redirect to any other host passes through untouched.
 */
export function rewriteLocation(location: string, port: number): string {
  if (location.startsWith('/') && !location.startsWith('//')) return `${PREVIEW_PREFIX}${port}${location}`;
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return location;
  }
  const sameOrigin = url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && url.port === String(port);
  return sameOrigin ? `${PREVIEW_PREFIX}${port}${url.pathname}${url.search}${url.hash}` : location;
}

/** The proxied app runs sandboxed (an opaque origin): its scripts cannot use CodePlane's session or API. */
export const PREVIEW_CSP = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads; frame-ancestors 'self'";
