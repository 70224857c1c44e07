/**
 * How many passwords anyone may try (docs/security.md, "Login attempts").
 * Every attempt is counted when it is admitted, before its password is
 * hashed, so parallel requests cannot slip past the count.
 *  - Per client key (api/client-address.ts): the first `freeFailures`
 *    attempts go straight through; after that each attempt must wait
 *    2^k seconds (2, 4, 8 … up to `maxDelayMs`) after the previous
 *    failure, and none is admitted while an earlier one is still being
 *    checked (its verdict starts the next delay). A
 *    right password clears the client's record; it is forgotten a day after
 *    its last attempt.
 *  - Across all clients: at most `globalPerMinute` admitted attempts in any
 *    60 s, so many addresses (a botnet, rotated X-Forwarded-For from a trusted
 *    proxy) are bounded too.
 *  - A browser that logged in before (a valid device cookie) is its own
 *    client key and is not held back by the global ceiling: an attacker who
 *    floods from everywhere, or from the same address as the owner (everyone
 *    behind a tunnel looks alike), still cannot keep the owner out.
 * Time is monotonic: moving the wall clock neither lifts nor extends a delay.
 */
export interface LoginLimits {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  globalPerMinute: number;
  forgetAfterMs: number;
  maxClients: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  freeFailures: 5,
  baseDelayMs: 2000,
  maxDelayMs: 15 * 60_000,
  globalPerMinute: 30,
  forgetAfterMs: 24 * 3600_000,
  maxClients: 10_000,
};

const MINUTE_MS = 60_000;

export type Admission =
  | { ok: true; refund(): void }
  | { ok: false; scope: 'client' | 'global'; retryAfterSeconds: number };

interface ClientRecord {
  /** Admitted since the last right password. */
  attempts: number;
  /** The last admission or wrong-password verdict (monotonic ms). */
  last: number;
  /** Admitted and not yet answered (being hashed, or waiting for their turn). */
  pending: number;
}

export class LoginLimiter {
  private readonly clients = new Map<string, ClientRecord>();
  /** Admission times of the attempts that count against the global ceiling, oldest first. */
  private readonly recent: number[] = [];
  readonly limits: LoginLimits;

  constructor(limits: Partial<LoginLimits> = {}, private readonly now: () => number = () => performance.now()) {
    this.limits = { ...DEFAULT_LOGIN_LIMITS, ...limits };
  }

  /** Whether an attempt would be admitted now, counting nothing: lets a refused request go before its body is read. */
  peek(key: string, device = false): Admission {
    return this.decide(key, device, this.now()) ?? { ok: true, refund: () => undefined };
  }

  /** Admits and counts an attempt, or says how long to wait. Synchronous: the check and the count are one step. */
  admit(key: string, device = false): Admission {
    const now = this.now();
    const refused = this.decide(key, device, now);
    if (refused) return refused;
    const rec = this.clients.get(key) ?? { attempts: 0, last: now, pending: 0 };
    const before = { ...rec };
    rec.attempts += 1;
    rec.pending += 1;
    rec.last = now;
    this.clients.set(key, rec);
    if (!device) this.recent.push(now);
    if (this.clients.size > this.limits.maxClients) this.prune(now);
    let refunded = false;
    return {
      ok: true,
      // The attempt was never checked (no hashing slot): it must not count.
      refund: () => {
        if (refunded) return;
        refunded = true;
        const cur = this.clients.get(key);
        if (cur === rec) {
          if (before.attempts === 0) this.clients.delete(key);
          else Object.assign(rec, before);
        }
        const i = device ? -1 : this.recent.lastIndexOf(now);
        if (i >= 0) this.recent.splice(i, 1);
      },
    };
  }

  /** A wrong password (or a check that failed): the client's next delay runs from now, when the verdict is known, not from when hashing began. */
  failed(key: string): void {
    const rec = this.clients.get(key);
    if (!rec) return;
    rec.last = Math.max(rec.last, this.now());
    rec.pending = Math.max(0, rec.pending - 1);
  }

  /** The right password: this client starts afresh. */
  succeed(key: string): void {
    this.clients.delete(key);
  }

  private decide(key: string, device: boolean, now: number): Extract<Admission, { ok: false }> | undefined {
    const rec = this.clients.get(key);
    if (rec && rec.pending === 0 && now - rec.last > this.limits.forgetAfterMs) this.clients.delete(key);
    else if (rec && rec.attempts >= this.limits.freeFailures) {
      const wait = Math.min(this.limits.baseDelayMs * 2 ** (rec.attempts - this.limits.freeFailures), this.limits.maxDelayMs);
      if (rec.pending > 0 || now < rec.last + wait) return { ok: false, scope: 'client', retryAfterSeconds: seconds(Math.max(rec.last + wait - now, rec.pending > 0 ? wait : 0)) };
    }
    if (device) return undefined;
    while (this.recent.length > 0 && this.recent[0]! <= now - MINUTE_MS) this.recent.shift();
    if (this.recent.length >= this.limits.globalPerMinute) return { ok: false, scope: 'global', retryAfterSeconds: seconds(this.recent[0]! + MINUTE_MS - now) };
    return undefined;
  }

  private prune(now: number): void {
    for (const [key, rec] of this.clients) if (now - rec.last > this.limits.forgetAfterMs) this.clients.delete(key);
    // Still too many: forget the oldest rather than grow without bound (new entries are rate-bounded by the global ceiling).
    for (const key of this.clients.keys()) {
      if (this.clients.size <= this.limits.maxClients) break;
      this.clients.delete(key);
    }
  }
}

const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));
