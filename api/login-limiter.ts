/**
 * Failed logins per client address: after `maxFailures` within `windowMs`
 * the address gets 429 until the oldest failure leaves the window, even with
 * the right password. The address is the socket's peer, except that a request
 * from a configured trusted proxy is attributed to the last address in
 * `X-Forwarded-For` that is not itself a trusted proxy.
 */
import type { IncomingMessage } from 'node:http';

const normalize = (a: string): string => {
  const s = a.trim().toLowerCase();
  return s.startsWith('::ffff:') && s.includes('.') ? s.slice(7) : s;
};

export function clientAddress(req: IncomingMessage, trustedProxies: readonly string[]): string {
  const peer = normalize(req.socket.remoteAddress ?? 'unknown');
  const trusted = new Set(trustedProxies.map(normalize));
  if (!trusted.has(peer)) return peer;
  const raw = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',').map(normalize).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) if (!trusted.has(hops[i]!)) return hops[i]!.slice(0, 64);
  return peer;
}

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly opts: { maxFailures: number; windowMs: number; maxClients?: number } = { maxFailures: 5, windowMs: 15 * 60_000 }) {}

  /** Seconds until this client may try again, or 0 when it may try now. */
  retryAfter(key: string, now = Date.now()): number {
    const recent = this.recent(key, now);
    if (recent.length < this.opts.maxFailures) return 0;
    return Math.max(1, Math.ceil((recent[0]! + this.opts.windowMs - now) / 1000));
  }

  fail(key: string, now = Date.now()): void {
    const recent = this.recent(key, now);
    recent.push(now);
    this.failures.set(key, recent);
    if (this.failures.size > (this.opts.maxClients ?? 10_000)) this.prune(now);
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => t > now - this.opts.windowMs);
  }

  private prune(now: number): void {
    for (const [key, times] of this.failures) if (!times.some((t) => t > now - this.opts.windowMs)) this.failures.delete(key);
    // Still too many: forget the oldest entries rather than grow without bound.
    for (const key of this.failures.keys()) {
      if (this.failures.size <= (this.opts.maxClients ?? 10_000)) break;
      this.failures.delete(key);
    }
  }
}
