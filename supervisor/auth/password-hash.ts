/**
 * Password hashing with scrypt at a high cost (N = 2^17, r = 8: 128 MiB and
 * ~0.7 s per hash here), stored as `scrypt$N$r$p$salt$hash` so the cost can
 * rise later without breaking stored hashes. Verification runs one at a time:
 * a flood of logins cannot take 128 MiB each at once.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const COST = { N: 2 ** 17, r: 8, p: 1 };
const KEY_LEN = 32;
const MAX_WAITING = 16;

export const MIN_PASSWORD_LENGTH = 8;

function derive(password: string, salt: Buffer, opts: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...opts, maxmem: 256 * opts.N * opts.r + 16 * 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, KEY_LEN, options, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST);
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

let running: Promise<unknown> = Promise.resolve();
let waiting = 0;

export class VerifierBusyError extends Error {
  override name = 'VerifierBusyError';
}

/** Constant-time comparison against a stored hash; false for any malformed hash. Throws VerifierBusyError when too many wait. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([\w-]+)\$([\w-]+)$/.exec(stored);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5]!, 'base64url');
  if (waiting >= MAX_WAITING) throw new VerifierBusyError('too many logins at once');
  waiting++;
  const mine = running.then(() => derive(password, Buffer.from(m[4]!, 'base64url'), { N, r, p }));
  running = mine.catch(() => undefined);
  try {
    const key = await mine;
    return key.length === expected.length && timingSafeEqual(key, expected);
  } finally {
    waiting--;
  }
}
