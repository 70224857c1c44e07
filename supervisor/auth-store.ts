/**
 * The supervisor side of authentication (api/ports.ts `AuthPort`): is a login
 * needed, does a password match, is a session or a bearer token valid. Only
 * hashes are stored; session ids and tokens carry 256 random bits, so a fast
 * hash (SHA-256) is enough for them, while the password gets slow scrypt.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthPort } from '../api/ports.ts';
import * as authRepo from './db/auth-repo.ts';
import type { Db } from './db/database.ts';
import { newId } from './ids.ts';
import { hashPassword, verifyPassword } from './password-hash.ts';

export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
export const API_TOKEN_PREFIX = 'cpt_';
/** Token uses are recorded at most this often (a write per request would be waste). */
const TOUCH_EVERY_MS = 60_000;

export const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const randomToken = (): string => randomBytes(32).toString('base64url');

export interface AuthStoreOptions {
  /** Reachable beyond loopback (a non-loopback host, or a tunnel): authentication is then always required. */
  exposed: boolean;
  /** From `cpl up --password` or CPL_PASSWORD: used for this run, never stored. */
  runPassword?: string;
  /** A per-run bearer token for the local `cpl` commands (written to run/cli-token, 0600). */
  cliToken?: string;
}

export class AuthStore implements AuthPort {
  private readonly touched = new Map<string, number>();

  private constructor(
    private readonly db: Db,
    private readonly exposed: boolean,
    private readonly runPasswordHash: string | undefined,
    private readonly cliTokenHash: Buffer | undefined,
  ) {}

  static async open(db: Db, opts: AuthStoreOptions): Promise<AuthStore> {
    const runHash = opts.runPassword === undefined ? undefined : await hashPassword(opts.runPassword);
    authRepo.deleteExpiredSessions(db, new Date().toISOString());
    return new AuthStore(db, opts.exposed, runHash, opts.cliToken === undefined ? undefined : Buffer.from(sha256(opts.cliToken), 'hex'));
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
    authRepo.insertSession(this.db, sha256(sessionId), new Date(now).toISOString(), expiresAt);
    return { sessionId, expiresAt };
  }

  logout(sessionId: string): void {
    authRepo.deleteSession(this.db, sha256(sessionId));
  }

  sessionValid(sessionId: string): boolean {
    if (sessionId.length > 200) return false;
    const expires = authRepo.sessionExpiry(this.db, sha256(sessionId));
    return expires !== undefined && expires > new Date().toISOString();
  }

  tokenValid(token: string): boolean {
    if (token.length > 200) return false;
    const hash = sha256(token);
    if (this.cliTokenHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.cliTokenHash)) return true;
    if (!token.startsWith(API_TOKEN_PREFIX)) return false;
    const id = authRepo.findTokenId(this.db, hash);
    if (id === undefined) return false;
    const now = Date.now();
    if ((this.touched.get(id) ?? 0) + TOUCH_EVERY_MS < now) {
      this.touched.set(id, now);
      authRepo.touchToken(this.db, id, new Date(now).toISOString());
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
