/**
 * Who is asking: the key the login limiter counts attempts under. Forwarding
 * headers are believed only from where they cannot be forged by the client:
 *  - a request whose socket peer is a configured trusted proxy (config
 *    `trustedProxies`: addresses or CIDR ranges) is attributed to the
 *    right-most `X-Forwarded-For` hop that is not itself a trusted proxy (a
 *    proxy appends the address it saw; everything left of that is what the
 *    client claimed);
 *  - a request through our own tunnel (`cpl up --remote`: a loopback peer and
 *    the tunnel's host name) is attributed to the address the tunnel service
 *    saw: cloudflared's `CF-Connecting-IP` (set by Cloudflare's edge, never
 *    taken from the client), devtunnel's right-most `X-Forwarded-For` hop;
 *  - anything else is its socket peer; its headers are ignored.
 * IPv6 clients are keyed by their /64 (one host owns a whole /64). A hop that
 * is not an address gives the proxy's own key, never a fresh one.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { hostnameOf } from './host-guard.ts';

export class TrustedProxyError extends Error {
  override name = 'TrustedProxyError';
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; `[::1]` → `::1`; `1.2.3.4:5678` → `1.2.3.4`; lower-case. Undefined when not an address. */
export function parseAddress(raw: string): string | undefined {
  let s = raw.trim().toLowerCase();
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(s);
  if (bracketed) s = bracketed[1]!;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  if (s.startsWith('::ffff:') && isIP(s.slice(7)) === 4) s = s.slice(7);
  return isIP(s) === 0 ? undefined : s;
}

/** The eight 16-bit groups of an IPv6 address (which `parseAddress` accepted). */
function groups6(a: string): number[] {
  let s = a;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const [p, q, r, t] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    s = `${s.slice(0, -v4[1]!.length)}${((p << 8) | q).toString(16)}:${((r << 8) | t).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}

/** The limiter key of an address: IPv4 as is, IPv6 by its /64 prefix. */
export function addressKey(address: string): string {
  if (isIP(address) !== 6) return address;
  return `${groups6(address).slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

export type TunnelKind = 'cloudflared' | 'devtunnel';

/** Decides each request's client key; `tunnel` is set once our tunnel is up. */
export class ClientKeys {
  private readonly trusted = new BlockList();
  private readonly anyTrusted: boolean;
  tunnel: { host: string; kind: TunnelKind } | undefined;

  /** Throws TrustedProxyError naming an entry that is neither an address nor a CIDR range. */
  constructor(trustedProxies: readonly string[] = []) {
    for (const entry of trustedProxies) {
      const [addr, bits, more] = entry.split('/');
      const a = parseAddress(addr ?? '');
      const family = a === undefined ? 0 : isIP(a);
      const max = family === 4 ? 32 : 128;
      if (!a || more !== undefined || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= max)))
        throw new TrustedProxyError(`"${entry}" is not an IP address or a CIDR range (like 10.0.0.0/8)`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.trusted.addAddress(a, type);
      else this.trusted.addSubnet(a, Number(bits), type);
    }
    this.anyTrusted = trustedProxies.length > 0;
  }

  isTrusted(address: string): boolean {
    return this.anyTrusted && this.trusted.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6');
  }

  keyOf(req: IncomingMessage): string {
    const peer = parseAddress(req.socket.remoteAddress ?? '');
    if (peer === undefined) return 'unknown';
    const header = (name: string): string => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(',') : (v ?? '');
    };
    if (this.tunnel && isLoopback(peer) && hostnameOf(req.headers.host) === this.tunnel.host) {
      const seen = this.tunnel.kind === 'cloudflared' ? parseAddress(header('cf-connecting-ip')) : parseAddress(header('x-forwarded-for').split(',').pop() ?? '');
      return seen === undefined ? 'tunnel:unknown' : addressKey(seen);
    }
    if (!this.isTrusted(peer)) return addressKey(peer);
    const hops = header('x-forwarded-for').split(',').filter((h) => h.trim() !== '');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parseAddress(hops[i]!);
      if (hop === undefined) break; // garbage from a trusted proxy: its own key, never a fresh one per value
      if (!this.isTrusted(hop)) return addressKey(hop);
    }
    return addressKey(peer);
  }
}

const isLoopback = (a: string): boolean => a === '::1' || a.startsWith('127.');
