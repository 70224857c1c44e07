/**
 * Numbered schema migrations, tracked with `PRAGMA user_version`.
 *
 * Why user_version rather than a migrations table: it lives in the database
 * header, costs nothing to read, and is written in the same transaction as
 * the migration itself, so a crash mid-migration leaves the old version and
 * the old schema, never a half-applied mix.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { initial } from './001-initial.ts';
import { authAndPush } from './002-auth-push.ts';
import { loginGeneration } from './003-login-generation.ts';
import { storageIdentity } from './004-storage-identity.ts';

export interface Migration {
  /** 1, 2, 3 … with no gaps; the database's user_version after `up` ran. */
  version: number;
  name: string;
  /** Runs inside a transaction; must be synchronous. */
  up(db: BetterSqlite3.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [initial, authAndPush, loginGeneration, storageIdentity];

/** The schema version this code writes. */
export const LATEST_VERSION = MIGRATIONS.length;

export class DatabaseTooNewError extends Error {
  constructor(
    readonly found: number,
    readonly supported: number,
  ) {
    super(`database schema version ${found} is newer than this version of CodePlane supports (${supported})`);
    this.name = 'DatabaseTooNewError';
  }
}

export function schemaVersion(db: BetterSqlite3.Database): number {
  const v = db.pragma('user_version', { simple: true });
  return typeof v === 'number' ? v : 0;
}

/**
 * Applies every migration newer than the database, oldest first, each in its
 * own transaction. Returns the versions applied (empty when up to date).
 * A database written by a newer CodePlane is refused rather than guessed at.
 */
export function migrate(db: BetterSqlite3.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  checkSequence(migrations);
  const current = schemaVersion(db);
  const latest = migrations.length;
  if (current > latest) throw new DatabaseTooNewError(current, latest);
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      m.up(db);
      // PRAGMA arguments cannot be bound; the version is a checked integer.
      db.pragma(`user_version = ${m.version}`);
    })();
    applied.push(m.version);
  }
  return applied;
}

/** A gap or a duplicate would silently skip a migration on some databases: refuse at once. */
function checkSequence(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (!Number.isSafeInteger(m.version) || m.version !== i + 1)
      throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
}
