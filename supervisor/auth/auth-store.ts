/**
 * The supervisor side of authentication (api/ports.ts `AuthPort`): is a login
 * needed, does a password match, is a session or a bearer token valid. Only
 * hashes are stored; session ids and tokens carry 256 random bits, so a fast
 * hash (SHA-256) is enough for them, while the password gets slow scrypt.
 *
 * A session belongs to the password it was made with (its generation: the
 * SHA-256 of that password's scrypt hash) and ends when the password in
 * force changes, whichever way: `cpl password set`, `--password`, or
 * CPL_PASSWORD across a restart. The run password's scrypt hash is kept so
 * that the same run password after a restart is the same generation.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthPort } from '../../api/ports.ts';
import * as authRepo from '../db/auth-repo.ts';
import type { Db } from '../db/database.ts';
import { newId } from '../jobs/ids.ts';
import { isStorageUnavailable } from '../storage/storage-state.ts';
import { hashPassword, verifyPassword } from './password-hash.ts';

export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
/** A device cookie (a browser that logged in before) is recognised this long. */
export const DEVICE_TTL_MS = 365 * 24 * 3600 * 1000;
export const API_TOKEN_PREFIX = 'cpt_';
/** Token uses are recorded at most this often (a write per request would be waste). */
const TOUCH_EVERY_MS = 60_000;

/** A write that may be skipped while the storage is read-only (storage-state.ts); any other failure still throws. */
function bestEffort(write: () => unknown): void {
  try {
    write();
  } catch (e) {
    if (!isStorageUnavailable(e)) throw e;
  }
}

export const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const randomToken = (): string => randomBytes(32).toString('base64url');
/** The generation of a password: which scrypt hash (salt included) was in force. */
export const generationOf = (passwordHash: string): string => sha256(passwordHash);
const DEVICE_COOKIE = /^v1\.([0-9a-z]{1,10})\.([\w-]{16})\.([\w-]{43})$/;

export interface AuthStoreOptions {
  /** Reachable beyond loopback (a non-loopback host, or a tunnel): authentication is then always required. */
  exposed: boolean;
  /** From `cpl up --password` or CPL_PASSWORD: used for this run; only its scrypt hash is kept, to recognise it at the next start. */
  runPassword?: string;
  /** A per-run bearer token for the local `cpl` commands (written to run/cli-token, 0600). */
  cliToken?: string;
}

export class AuthStore implements AuthPort {
  private readonly touched = new Map<string, number>();

  private lastGeneration: { hash: string; generation: string } | undefined;

  private constructor(
    private readonly db: Db,
    private readonly exposed: boolean,
    private readonly runPasswordHash: string | undefined,
    private readonly cliTokenHash: Buffer | undefined,
    private readonly deviceKey: Buffer,
  ) {}

  static async open(db: Db, opts: AuthStoreOptions): Promise<AuthStore> {
    const now = new Date().toISOString();
    let runHash: string | undefined;
    if (opts.runPassword !== undefined) {
      // The same run password as last time keeps its hash, hence its generation and its sessions.
      const recorded = authRepo.getSecret(db, 'run_password_hash');
      runHash = recorded !== undefined && (await verifyPassword(opts.runPassword, recorded)) ? recorded : await hashPassword(opts.runPassword);
      if (runHash !== recorded) bestEffort(() => authRepo.setSecret(db, 'run_password_hash', runHash!, now));
    }
    let deviceKey = authRepo.getSecret(db, 'device_key');
    if (deviceKey === undefined) {
      deviceKey = randomBytes(32).toString('base64url');
      // Read-only storage: the key still serves this run; device cookies then last until the restart.
      bestEffort(() => authRepo.setSecret(db, 'device_key', deviceKey!, now));
    }
    const store = new AuthStore(db, opts.exposed, runHash, opts.cliToken === undefined ? undefined : Buffer.from(sha256(opts.cliToken), 'hex'), Buffer.from(deviceKey, 'base64url'));
    // Sessions of another password stay until they expire, refused by sessionValid: one check decides, not two.
    bestEffort(() => authRepo.deleteExpiredSessions(db, now));
    return store;
  }

  /** The generation of the password in force now ('none' without one: no session is valid then). */
  generation(): string {
    const hash = this.runPasswordHash ?? authRepo.getPasswordHash(this.db);
    if (hash === undefined) return 'none';
    if (this.lastGeneration?.hash !== hash) this.lastGeneration = { hash, generation: generationOf(hash) };
    return this.lastGeneration.generation;
  }

  passwordConfigured(): boolean {
    return this.runPasswordHash !== undefined || authRepo.getPasswordHash(this.db) !== undefined;
  }

  /** Some way to authenticate exists (a password, or an API token for scripts). */
  configured(): boolean {
    return this.passwordConfigured() || authRepo.countTokens(this.db) > 0;
  }

  required(): boolean {
    return this.exposed || this.passwordConfigured();
  }

  async login(password: string): Promise<{ sessionId: string; expiresAt: string } | undefined> {
    const hash = this.runPasswordHash ?? authRepo.getPasswordHash(this.db);
    if (hash === undefined || !(await verifyPassword(password, hash))) return undefined;
    const sessionId = randomToken();
    const now = Date.now();
    const expiresAt = new Date(now + SESSION_TTL_MS).toISOString();
    authRepo.insertSession(this.db, sha256(sessionId), new Date(now).toISOString(), expiresAt, generationOf(hash));
    return { sessionId, expiresAt };
  }

  logout(sessionId: string): void {
    authRepo.deleteSession(this.db, sha256(sessionId));
  }

  sessionValid(sessionId: string): boolean {
    if (sessionId.length > 200) return false;
    const row = authRepo.sessionRow(this.db, sha256(sessionId));
    if (row === undefined || row.expiresAt <= new Date().toISOString()) return false;
    const generation = this.generation();
    return generation !== 'none' && row.passwordGen === generation;
  }

  newDeviceCookie(): string {
    const body = `v1.${Math.floor(Date.now() / 1000).toString(36)}.${randomBytes(12).toString('base64url')}`;
    return `${body}.${this.deviceMac(body).toString('base64url')}`;
  }

  deviceOf(cookie: string): string | undefined {
    const m = DEVICE_COOKIE.exec(cookie);
    if (!m) return undefined;
    const mac = Buffer.from(m[3]!, 'base64url');
    if (mac.length !== 32 || !timingSafeEqual(mac, this.deviceMac(cookie.slice(0, cookie.lastIndexOf('.'))))) return undefined;
    // Absolute age on the wall clock: the cookie carries a date, not a duration.
    const issuedMs = parseInt(m[1]!, 36) * 1000;
    if (!(issuedMs <= Date.now() + 60_000 && Date.now() - issuedMs < DEVICE_TTL_MS)) return undefined;
    return `device:${m[2]!}`;
  }

  private deviceMac(body: string): Buffer {
    return createHmac('sha256', this.deviceKey).update(body).digest();
  }

  tokenValid(token: string): boolean {
    if (token.length > 200) return false;
    const hash = sha256(token);
    if (this.cliTokenHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.cliTokenHash)) return true;
    if (!token.startsWith(API_TOKEN_PREFIX)) return false;
    const id = authRepo.findTokenId(this.db, hash);
    if (id === undefined) return false;
    const now = performance.now(); // a throttle: monotonic, so a clock set back cannot stop the record
    if ((this.touched.get(id) ?? -Infinity) + TOUCH_EVERY_MS < now) {
      this.touched.set(id, now);
      bestEffort(() => authRepo.touchToken(this.db, id, new Date().toISOString())); // a record, not a reason to refuse a valid token
    }
    return true;
  }
}

/** `cpl password set`: stores the scrypt hash and ends every session. */
export async function storePassword(db: Db, password: string | undefined): Promise<void> {
  authRepo.setPasswordHash(db, password === undefined ? undefined : await hashPassword(password), new Date().toISOString());
}

/** `cpl token create`: the token is returned once and only its hash is kept. */
export function createApiToken(db: Db, name: string): { id: string; name: string; token: string } {
  const token = `${API_TOKEN_PREFIX}${randomToken()}`;
  const id = newId('t');
  authRepo.insertToken(db, { id, name, tokenHash: sha256(token), createdAt: new Date().toISOString() });
  return { id, name, token };
}

export const newCliToken = (): string => `cpc_${randomToken()}`;
