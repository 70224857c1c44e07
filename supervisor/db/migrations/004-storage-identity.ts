/**
 * The database's identity: a random id made once, when the database is
 * created (or upgraded to this version), and kept beside it in
 * `codeplane.db.id` (db/identity.ts). A database that is not the one the id
 * file names — restored from elsewhere, replaced, or recreated empty after
 * the file was lost — is then told apart from the user's own. `probed_at` is
 * what the storage watch writes to find out whether writing works again.
 */
import { randomBytes } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import type { Migration } from './index.ts';

export const storageIdentity: Migration = {
  version: 4,
  name: 'storage-identity',
  up(db: BetterSqlite3.Database): void {
    db.exec(`
      CREATE TABLE storage_identity (
        one        INTEGER PRIMARY KEY CHECK (one = 1),
        db_id      TEXT NOT NULL,
        created_at TEXT NOT NULL,
        probed_at  TEXT
      ) STRICT;
    `);
    db.prepare('INSERT INTO storage_identity (one, db_id, created_at) VALUES (1, ?, ?)').run(randomBytes(16).toString('hex'), new Date().toISOString());
  },
};
