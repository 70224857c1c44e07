/**
 * Where the server may send Web Push messages, and which keys it may encrypt
 * them to. A subscription names a URL the server will POST to on every
 * approval: left open, anyone with a session could point it at this machine's
 * loopback services, the cloud metadata address or the LAN. So only the
 * browsers' own push services are allowed (FCM, Mozilla, Apple, Windows), on
 * port 443, plus `host:port` entries the owner lists (config
 * `pushAllowedHosts`, env `CPL_PUSH_ALLOWED_HOSTS`) for a self-hosted push
 * service. Decided on the URL's canonical host (the WHATWG parser turns
 * `0x7f.1`, `2130706433` and friends into dotted IPv4), never by resolving it.
 */
import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';

/** Exact hosts and `.suffix` families of the known push services. */
const KNOWN_EXACT = new Set(['fcm.googleapis.com', 'updates.push.services.mozilla.com']);
const KNOWN_SUFFIXES = ['.push.services.mozilla.com', '.push.apple.com', '.notify.windows.com'];
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export class PushHostsError extends Error {
  override name = 'PushHostsError';
}

/** `host:port` (IPv6 in brackets) → the canonical `host:port` a URL of that origin has; throws PushHostsError otherwise. */
export function canonicalHostPort(entry: string): string {
  const m = /^(\[[0-9a-f:.]+\]|[^\s:/@[\]]+):(\d{1,5})$/i.exec(entry.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new PushHostsError(`"${entry}" is not host:port (like push.example.lan:8443 or [::1]:9443)`);
  let url: URL;
  try {
    url = new URL(`https://${m[1]}:${port}/`);
  } catch {
    throw new PushHostsError(`"${entry}" is not host:port`);
  }
  return `${url.hostname}:${url.port || '443'}`;
}

/** The allowed extra `host:port`s from the config and a comma-separated environment value. */
export function allowedPushHosts(config: readonly string[], env: string | undefined): Set<string> {
  const entries = [...config, ...(env ?? '').split(',').filter((e) => e.trim() !== '')];
  return new Set(entries.map(canonicalHostPort));
}

const isKnownService = (host: string): boolean =>
  KNOWN_EXACT.has(host) || KNOWN_SUFFIXES.some((s) => host.endsWith(s) && host.slice(0, -s.length).split('.').every((l) => LABEL.test(l)));

/** Undefined when the server may POST to `endpoint`, else why not (for the user). */
export function pushEndpointProblem(endpoint: string, allowed: ReadonlySet<string>): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'endpoint must be an absolute https URL';
  }
  if (url.protocol !== 'https:' || url.username || url.password) return 'endpoint must be an https URL without credentials';
  const host = url.hostname.toLowerCase();
  const port = url.port || '443';
  if (allowed.has(`${host}:${port}`)) return undefined;
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 0) return `endpoint must be a push service, not an address (${addressKind(bare)}); list it in pushAllowedHosts or CPL_PUSH_ALLOWED_HOSTS if it really is one`;
  if (!isKnownService(host)) return `endpoint must be a known push service (fcm.googleapis.com, *.push.services.mozilla.com, *.push.apple.com, *.notify.windows.com), not ${host}; list host:port in pushAllowedHosts or CPL_PUSH_ALLOWED_HOSTS for a self-hosted one`;
  if (port !== '443') return `endpoint must use port 443 (not ${port}) unless ${host}:${port} is listed in pushAllowedHosts`;
  return undefined;
}

function addressKind(a: string): string {
  if (/^127\./.test(a) || a === '::1' || a === '0.0.0.0' || a === '::') return 'loopback';
  if (/^169\.254\./.test(a) || /^fe[89ab]/i.test(a)) return 'link-local';
  if (/^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(a) || /^f[cd]/i.test(a)) return 'private';
  return 'a literal IP';
}

/** Undefined for an uncompressed P-256 public key (base64url, 65 bytes) that is a point on the curve, else why not. */
export function p256KeyProblem(b64: string): string | undefined {
  const bytes = /^[A-Za-z0-9_-]+={0,2}$/.test(b64) ? Buffer.from(b64, 'base64url') : Buffer.alloc(0);
  if (bytes.length !== 65 || bytes[0] !== 0x04) return 'keys.p256dh must be an uncompressed P-256 public key (base64url, 65 bytes)';
  try {
    // OpenSSL refuses coordinates off the curve (or out of the field) when it builds the key.
    createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: bytes.subarray(1, 33).toString('base64url'), y: bytes.subarray(33).toString('base64url') }, format: 'jwk' });
  } catch {
    return 'keys.p256dh is not a point on the P-256 curve';
  }
  return undefined;
}
