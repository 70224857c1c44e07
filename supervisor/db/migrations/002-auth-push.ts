/**
 * Remote access: the password hash, login sessions, API tokens and Web Push
 * subscriptions. Secrets are never stored as given: the password as a slow
 * scrypt hash, session ids and API tokens (256 random bits each) as SHA-256.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Migration } from './index.ts';

export const authAndPush: Migration = {
  version: 2,
  name: 'auth-push',
  up(db: BetterSqlite3.Database): void {
    db.exec(`
      CREATE TABLE auth_password (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        hash       TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE auth_sessions (
        id_hash    TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE api_tokens (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        token_hash   TEXT NOT NULL UNIQUE,
        created_at   TEXT NOT NULL,
        last_used_at TEXT
      ) STRICT;

      CREATE TABLE push_subscriptions (
        endpoint   TEXT PRIMARY KEY,
        p256dh     TEXT NOT NULL,
        auth       TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
    `);
  },
};
