/**
 * Sessions end when the password changes by any route. A session records the
 * generation of the password it was made with (SHA-256 of that password's
 * scrypt hash); `auth_secrets` keeps the scrypt hash of the last run password
 * (`--password`, CPL_PASSWORD) so the same run password means the same
 * generation after a restart, and the key that signs device cookies.
 * Sessions from before this migration have no generation: they end (one
 * login after the upgrade).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Migration } from './index.ts';

export const loginGeneration: Migration = {
  version: 3,
  name: 'login-generation',
  up(db: BetterSqlite3.Database): void {
    db.exec(`
      ALTER TABLE auth_sessions ADD COLUMN password_gen TEXT;

      CREATE TABLE auth_secrets (
        name       TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
    `);
  },
};
