/**
 * The password hash, login sessions and API tokens. Callers pass hashes
 * only: nothing here ever sees a session id, a token or a password.
 */
import type { Db } from './database.ts';

export interface TokenRow {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export function getPasswordHash(db: Db): string | undefined {
  return db.get(db.q.selectFrom('auth_password').select('hash').where('id', '=', 1))?.hash;
}

/** Sets (or, with undefined, removes) the password; every session ends with the old password. */
export function setPasswordHash(db: Db, hash: string | undefined, now: string): void {
  db.tx(() => {
    if (hash === undefined) db.run(db.q.deleteFrom('auth_password'));
    else db.run(db.q.insertInto('auth_password').values({ id: 1, hash, updated_at: now }).onConflict((oc) => oc.column('id').doUpdateSet({ hash, updated_at: now })));
    db.run(db.q.deleteFrom('auth_sessions'));
  });
}

/** `passwordGen` names the password the session was made with (auth-store.ts `generationOf`). */
export function insertSession(db: Db, idHash: string, createdAt: string, expiresAt: string, passwordGen: string): void {
  db.run(db.q.insertInto('auth_sessions').values({ id_hash: idHash, created_at: createdAt, expires_at: expiresAt, password_gen: passwordGen }));
}

export function sessionRow(db: Db, idHash: string): { expiresAt: string; passwordGen: string | null } | undefined {
  const r = db.get(db.q.selectFrom('auth_sessions').select(['expires_at', 'password_gen']).where('id_hash', '=', idHash));
  return r && { expiresAt: r.expires_at, passwordGen: r.password_gen };
}

/** Server-side secrets that are not the password: `run_password_hash`, `device_key`. */
export type SecretName = 'run_password_hash' | 'device_key';

export function getSecret(db: Db, name: SecretName): string | undefined {
  return db.get(db.q.selectFrom('auth_secrets').select('value').where('name', '=', name))?.value;
}

export function setSecret(db: Db, name: SecretName, value: string, now: string): void {
  db.run(db.q.insertInto('auth_secrets').values({ name, value, updated_at: now }).onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: now })));
}

export function deleteSession(db: Db, idHash: string): void {
  db.run(db.q.deleteFrom('auth_sessions').where('id_hash', '=', idHash));
}

export function deleteExpiredSessions(db: Db, now: string): number {
  return db.run(db.q.deleteFrom('auth_sessions').where('expires_at', '<=', now)).changes;
}

export function insertToken(db: Db, t: { id: string; name: string; tokenHash: string; createdAt: string }): void {
  db.run(db.q.insertInto('api_tokens').values({ id: t.id, name: t.name, token_hash: t.tokenHash, created_at: t.createdAt, last_used_at: null }));
}

export function findTokenId(db: Db, tokenHash: string): string | undefined {
  return db.get(db.q.selectFrom('api_tokens').select('id').where('token_hash', '=', tokenHash))?.id;
}

export function touchToken(db: Db, id: string, now: string): void {
  db.run(db.q.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id));
}

export function listTokens(db: Db): TokenRow[] {
  return db
    .all(db.q.selectFrom('api_tokens').select(['id', 'name', 'created_at', 'last_used_at']).orderBy('created_at').orderBy('id'))
    .map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at }));
}

export function countTokens(db: Db): number {
  return Number(db.get(db.q.selectFrom('api_tokens').select((eb) => eb.fn.countAll<number>().as('n')))?.n ?? 0);
}

export function deleteToken(db: Db, id: string): boolean {
  return db.run(db.q.deleteFrom('api_tokens').where('id', '=', id)).changes === 1;
}
