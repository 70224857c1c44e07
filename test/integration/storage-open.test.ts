/**
 * Opening the database on real files: migrations run once, and every way a
 * data directory can be unusable ends in a StorageError with a stable code
 * and a message naming the path, never a stack trace.
 */
import assert from 'node:assert/strict';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { StorageError, openDatabase, type StorageErrorCode } from '../../supervisor/db/database.ts';
import { LATEST_VERSION, MIGRATIONS, migrate, schemaVersion } from '../../supervisor/db/migrations/index.ts';
import { addRepo, tempDir } from '../helpers/storage-db.ts';
import { ROOT } from '../helpers/server-process.ts';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));
const dirFor = (): string => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
};

function expectStorageError(fn: () => unknown, code: StorageErrorCode, pathInMessage: string): StorageError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof StorageError, `expected a StorageError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.includes(pathInMessage), `message names ${pathInMessage}: ${caught.message}`);
  assert.match(caught.message, /CODEPLANE_HOME/, 'message says what to do');
  return caught;
}

describe('opening the database', () => {
  it('creates the schema once and re-opens cleanly with the data intact', () => {
    const file = join(dirFor(), 'nested', 'codeplane.db');
    const db = openDatabase(file);
    assert.equal(schemaVersion(db.raw), LATEST_VERSION);
    const tables = db.raw.prepare("select name from sqlite_master where type = 'table' order by name").pluck().all();
    for (const t of ['approvals', 'events', 'jobs', 'repos']) assert.ok(tables.includes(t), `table ${t} exists`);
    assert.equal(db.raw.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.raw.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(db.raw.pragma('busy_timeout', { simple: true }), 50, 'a lock held elsewhere blocks the event loop tens of ms, not seconds');
    assert.equal(db.raw.pragma('synchronous', { simple: true }), 1, 'NORMAL');
    addRepo(db, 'r1');
    db.close();
    db.close(); // idempotent
    assert.equal(db.isOpen, false);

    const again = openDatabase(file);
    assert.deepEqual(migrate(again.raw), [], 'nothing left to apply');
    assert.equal(schemaVersion(again.raw), LATEST_VERSION);
    assert.equal(again.raw.prepare('select count(*) from repos').pluck().get(), 1, 'data survived the re-open');
    assert.equal(again.raw.pragma('integrity_check', { simple: true }), 'ok');
    again.close();
  });

  it('runs each migration in a transaction: a failing one leaves the previous version and no partial change', () => {
    const raw = new BetterSqlite3(join(dirFor(), 'm.db'));
    const failing = {
      version: LATEST_VERSION + 1,
      name: 'fails-halfway',
      up(d: BetterSqlite3.Database) {
        d.exec('CREATE TABLE half_done (x INTEGER)');
        throw new Error('boom');
      },
    };
    assert.throws(() => migrate(raw, [...MIGRATIONS, failing]), /boom/);
    assert.equal(schemaVersion(raw), LATEST_VERSION, 'earlier migrations committed');
    assert.equal(raw.prepare("select count(*) from sqlite_master where name = 'half_done'").pluck().get(), 0);
    raw.close();
  });

  it('refuses a database written by a newer CodePlane', () => {
    const file = join(dirFor(), 'codeplane.db');
    openDatabase(file).close();
    const raw = new BetterSqlite3(file);
    raw.pragma(`user_version = ${LATEST_VERSION + 7}`);
    raw.close();
    const e = expectStorageError(() => openDatabase(file), 'DATABASE_TOO_NEW', file);
    assert.match(e.message, new RegExp(`version ${LATEST_VERSION + 7}`));
  });

  it('reports a file that is not SQLite as DATABASE_CORRUPT and leaves it untouched', () => {
    const file = join(dirFor(), 'codeplane.db');
    const content = 'this is my shopping list, not a database\n'.repeat(200);
    writeFileSync(file, content);
    const e = expectStorageError(() => openDatabase(file), 'DATABASE_CORRUPT', file);
    assert.match(e.message, /not a valid SQLite database/);
    assert.equal(readFileSync(file, 'utf8'), content, 'the file was not overwritten');
  });

  it('reports a damaged SQLite file as DATABASE_CORRUPT', () => {
    const file = join(dirFor(), 'codeplane.db');
    const raw = new BetterSqlite3(file);
    raw.exec('CREATE TABLE t (a TEXT); CREATE INDEX t_a ON t (a);');
    const ins = raw.prepare('INSERT INTO t VALUES (?)');
    raw.transaction(() => {
      for (let i = 0; i < 2000; i++) ins.run(`row ${i} ${'x'.repeat(50)}`);
    })();
    raw.close();
    // Overwrite b-tree pages 4-6 with garbage; the header (page 1) stays valid.
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(4096 * 3, 0x5a), 0, 4096 * 3, 4096 * 3);
    closeSync(fd);
    expectStorageError(() => openDatabase(file), 'DATABASE_CORRUPT', file);
  });

  it('reports a file failing quick_check (readable, but inconsistent) as DATABASE_CORRUPT', () => {
    const file = join(dirFor(), 'codeplane.db');
    const raw = new BetterSqlite3(file);
    raw.exec('CREATE TABLE t (a TEXT); INSERT INTO t VALUES (NULL);');
    // Rewrite the schema behind SQLite's back so the stored row breaks a NOT NULL constraint.
    raw.unsafeMode(true);
    raw.exec(`PRAGMA writable_schema = ON;
      UPDATE sqlite_master SET sql = 'CREATE TABLE t (a TEXT NOT NULL)' WHERE name = 't';
      PRAGMA writable_schema = OFF;`);
    raw.close();
    const e = expectStorageError(() => openDatabase(file), 'DATABASE_CORRUPT', file);
    assert.match(e.message, /quick_check: NULL value in t\.a/);
  });

  it('reports a data directory under a regular file as DATA_DIR_NOT_WRITABLE', () => {
    const blocker = join(dirFor(), 'a-file');
    writeFileSync(blocker, 'x');
    const file = join(blocker, 'sub', 'codeplane.db');
    expectStorageError(() => openDatabase(file), 'DATA_DIR_NOT_WRITABLE', join(blocker, 'sub'));
  });

  it('reports a read-only data directory as DATA_DIR_NOT_WRITABLE', () => {
    const parent = dirFor();
    const dir = join(parent, 'ro');
    mkdirSync(dir);
    chmodSync(dir, 0o555);
    cleanups.unshift(() => chmodSync(dir, 0o700));
    const file = join(dir, 'codeplane.db');
    if (process.getuid?.() !== 0) {
      expectStorageError(() => openDatabase(file), 'DATA_DIR_NOT_WRITABLE', dir);
      return;
    }
    // Root writes through any mode bits: open it as an ordinary user (nobody) in a child process instead.
    chmodSync(parent, 0o755);
    const probe = `import(${JSON.stringify(pathToFileURL(join(ROOT, 'supervisor/db/database.ts')).href)}).then((m) => {
      try { m.openDatabase(${JSON.stringify(file)}); console.log(JSON.stringify({ opened: true })); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
    });`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', probe], { cwd: ROOT, uid: 65534, gid: 65534, encoding: 'utf8', env: { ...process.env, HOME: parent } });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { code?: string; message?: string };
    assert.equal(out.code, 'DATA_DIR_NOT_WRITABLE', JSON.stringify(out));
    assert.ok(out.message?.includes(dir) && /CODEPLANE_HOME/.test(out.message), out.message);
  });

  it('reports a directory at the database path as DATABASE_OPEN_FAILED', () => {
    const file = join(dirFor(), 'codeplane.db');
    mkdirSync(file);
    expectStorageError(() => openDatabase(file), 'DATABASE_OPEN_FAILED', file);
  });
});
