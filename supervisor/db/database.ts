/**
 * Opening the SQLite database, and the `Db` handle every repository takes.
 *
 * Queries are built with kysely (typed against ./schema.ts) but executed
 * synchronously on better-sqlite3. Why: a synchronous write can be wrapped in
 * `tx()` — a real SQLite transaction that no other async code can interleave
 * with — which is what lets "insert events + update the read model" be one
 * atomic step, and lets the SSE layer replay then subscribe with no gap.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type Compilable } from 'kysely';
import { AppError } from '../../machines/app-error.ts';
import { DatabaseTooNewError, migrate } from './migrations/index.ts';
import type { Schema } from './schema.ts';
import { StorageState } from '../storage/storage-state.ts';
import { describeFault, storageFaultOf } from './storage-fault.ts';
import { StorageError, damaged, dirNotWritable, notADatabase, openFailed, tooNew } from './storage-error.ts';

export { StorageError, type StorageErrorCode } from './storage-error.ts';

export interface RunResult {
  changes: number;
  lastInsertRowid: number;
}

/** Prepared statements are reused by SQL text; the cap only guards against unbounded dynamic SQL. */
const STATEMENT_CACHE_LIMIT = 256;

/**
 * How long one statement waits for another process's lock before giving up
 * with SQLITE_BUSY. Tens of milliseconds, not seconds: the wait is synchronous
 * and freezes the whole server (every request, every worker's events) for its
 * length. A write that gives up turns the server read-only and the storage
 * watch retries asynchronously (storage-watch.ts).
 */
export const BUSY_TIMEOUT_MS = 50;

export class Db {
  /** Typed query builder ONLY: never `.execute()` through it (that would go async and escape `tx`). */
  readonly q: Kysely<Schema>;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private closed = false;

  constructor(
    readonly raw: BetterSqlite3.Database,
    /** Refuses writes while the storage is faulty or not the user's database (see storage-state.ts). */
    readonly storage: StorageState = new StorageState(),
  ) {
    this.q = new Kysely<Schema>({ dialect: new SqliteDialect({ database: raw }) });
  }

  /** Every row the query returns. */
  all<R>(query: Compilable<R>): R[] {
    return this.reading(() => {
      const { stmt, params } = this.prepare(query);
      return stmt.all(...params) as R[];
    });
  }

  /** The first row, or undefined. */
  get<R>(query: Compilable<R>): R | undefined {
    return this.reading(() => {
      const { stmt, params } = this.prepare(query);
      return stmt.get(...params) as R | undefined;
    });
  }

  /** Runs a write; `changes` tells a conditional UPDATE whether it matched. */
  run(query: Compilable<unknown>): RunResult {
    return this.writing(() => {
      const { stmt, params } = this.prepare(query);
      const r = stmt.run(...params);
      return { changes: Number(r.changes), lastInsertRowid: Number(r.lastInsertRowid) };
    });
  }

  /**
   * A prepared statement for fixed SQL, for the few hot paths where building
   * the query each time would cost more than running it (the event insert).
   */
  statement(sqlText: string): BetterSqlite3.Statement {
    let stmt = this.statements.get(sqlText);
    if (!stmt) {
      stmt = this.raw.prepare(sqlText);
      this.statements.set(sqlText, stmt);
    }
    return stmt;
  }

  /**
   * Runs `fn` in one SQLite transaction (a savepoint when nested). `fn` must be
   * synchronous: better-sqlite3 refuses a function that returns a promise.
   */
  tx<T>(fn: () => T): T {
    return this.writing(() => this.raw.transaction(fn)());
  }

  /**
   * Every write goes through here: refused at once (503 STORAGE_UNAVAILABLE)
   * while the storage is faulty, and a storage failure (full disk, I/O error,
   * another process's lock) turns the server read-only instead of escaping as
   * a bare SqliteError. Nothing was written when it throws: SQLite rolled the
   * statement (or the transaction) back.
   */
  private writing<T>(fn: () => T): T {
    if (!this.storage.writable()) throw this.storage.unavailable();
    try {
      return fn();
    } catch (e) {
      const cause = storageFaultOf(e);
      if (cause === undefined) throw e;
      this.storage.fault(cause, describeFault(cause, e));
      throw this.storage.unavailable();
    }
  }

  /** A read that meets a storage failure answers 503 rather than 500; reads never change the state. */
  private reading<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      const cause = storageFaultOf(e);
      if (cause === undefined) throw e;
      throw new AppError('unavailable', 'STORAGE_UNAVAILABLE', `CodePlane cannot read its database right now: ${describeFault(cause, e)}`);
    }
  }

  /**
   * A write that bypasses the refusal: only the storage watch's probe, which
   * is how a read-only server finds out that writing works again. Throws the
   * SQLite error as is.
   */
  probe(sqlText: string, ...params: unknown[]): void {
    this.raw.prepare(sqlText).run(...params);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Idempotent. The kysely instance never opened a connection of its own, so only the handle is closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    this.raw.close();
  }

  private prepare(query: Compilable<unknown>): { stmt: BetterSqlite3.Statement; params: unknown[] } {
    const compiled = query.compile();
    let stmt = this.statements.get(compiled.sql);
    if (!stmt) {
      if (this.statements.size >= STATEMENT_CACHE_LIMIT) this.statements.clear();
      stmt = this.raw.prepare(compiled.sql);
      this.statements.set(compiled.sql, stmt);
    }
    return { stmt, params: [...compiled.parameters] };
  }
}

/**
 * Opens (creating if needed) the database at `file`, configures it, checks
 * it, and migrates it to the latest schema. Every expected failure is thrown
 * as a `StorageError`. `':memory:'` gives a private in-memory database (tests).
 */
export function openDatabase(file: string, storage?: StorageState): Db {
  const memory = file === ':memory:';
  const path = memory ? file : resolve(file);
  if (!memory) ensureWritableDir(dirname(path));
  const raw = openRaw(path);
  try {
    configure(raw, path, memory);
    migrate(raw);
    return new Db(raw, storage);
  } catch (e) {
    raw.close();
    const cause = memory ? undefined : storageFaultOf(e);
    if (cause === 'disk_full' || cause === 'io_error') return openWithoutSharedMemory(path, e, storage ?? new StorageState());
    throw classify(e, path);
  }
}

/** The SQLite handle, or a StorageError that says why the file cannot be opened. */
function openRaw(path: string): BetterSqlite3.Database {
  try {
    return new BetterSqlite3(path);
  } catch (e) {
    throw classify(e, path);
  }
}

/**
 * A full disk can refuse the WAL's shared-memory index (`-shm`, SQLITE_IOERR_SHMSIZE), and with it
 * every open. In exclusive locking mode, set before the first access, SQLite keeps that index in
 * the process's memory instead, so the server still starts, reads everything (the WAL included)
 * and runs read-only until a probe write works. The price, until the next restart: other
 * processes (`cpl doctor`, `cpl password set`) cannot open the database while the server runs.
 */
function openWithoutSharedMemory(path: string, first: unknown, storage: StorageState): Db {
  const raw = openRaw(path);
  try {
    raw.pragma('locking_mode = EXCLUSIVE');
    configure(raw, path, false);
    migrate(raw);
  } catch (e) {
    raw.close();
    throw classify(e, path);
  }
  const cause = storageFaultOf(first) ?? 'io_error';
  storage.fault(cause, `${describeFault(cause, first)}; the database was opened without its shared-memory file, so other cpl commands cannot use it until CodePlane restarts`);
  return new Db(raw, storage);
}

function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    // ENOTDIR/EEXIST: a path component is a regular file; EACCES/EPERM/EROFS: no permission.
    throw dirNotWritable(dir, errnoCode(e) ?? String(e), e);
  }
}

function configure(raw: BetterSqlite3.Database, path: string, memory: boolean): void {
  // busy_timeout first: a second process (cpl status, doctor) may hold a lock briefly.
  raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // The first read of the header happens here: a non-SQLite file fails with SQLITE_NOTADB.
  if (!memory) raw.pragma('journal_mode = WAL');
  // NORMAL is durable across application crashes in WAL mode; only power loss may drop the last commits.
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  const rows = raw.pragma('quick_check') as { quick_check: string }[];
  const problems = rows.map((r) => r.quick_check).filter((m) => m !== 'ok');
  if (problems.length > 0) throw damaged(path, problems.slice(0, 3).join('; '));
}

/** Maps whatever went wrong to a StorageError with a code a user (and doctor) can act on. */
function classify(e: unknown, path: string): StorageError {
  if (e instanceof StorageError) return e;
  if (e instanceof DatabaseTooNewError) return tooNew(path, e.found, e.supported);
  const code = errnoCode(e) ?? '';
  const detail = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) return notADatabase(path, detail, e);
  if (code.startsWith('SQLITE_READONLY') || ['EACCES', 'EPERM', 'EROFS', 'ENOTDIR'].includes(code))
    return dirNotWritable(dirname(path), `${code}: ${detail}`, e);
  return openFailed(path, code ? `${code}: ${detail}` : detail, e);
}

function errnoCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  return typeof e.code === 'string' ? e.code : undefined;
}
