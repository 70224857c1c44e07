/**
 * The storage refuses writes for real (a database at its size limit gives
 * SQLITE_FULL, a second connection's BEGIN EXCLUSIVE gives SQLITE_BUSY): the
 * handle turns read-only instead of throwing SqliteErrors around, refuses
 * further writes at once with 503 STORAGE_UNAVAILABLE, keeps reading, never
 * waits long for a lock, and the storage watch's probe brings writing back
 * by itself. Identity: a database deleted or replaced under the open handle,
 * or missing at start while its id file remains, is caught and never silently
 * replaced by a fresh one.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { AppError } from '../../machines/app-error.ts';
import { openDatabase } from '../../supervisor/db/database.ts';
import { databaseId, fileIdentityOf, idFileFor } from '../../supervisor/db/identity.ts';
import { EventLog } from '../../supervisor/events/event-log.ts';
import { EventHub } from '../../supervisor/events/event-hub.ts';
import { getJob, getLastSeq } from '../../supervisor/db/jobs-repo.ts';
import { StorageState, isStorageUnavailable } from '../../supervisor/storage/storage-state.ts';
import { openStorage } from '../../supervisor/storage/storage-open.ts';
import { StorageWatch } from '../../supervisor/storage/storage-watch.ts';
import { addJob, addRepo, said, tempDb, tempDir } from '../helpers/storage-db.ts';

const silent = pino({ level: 'silent' });
const watchOf = (db: ReturnType<typeof tempDb>['db'], file?: { path: string }) =>
  new StorageWatch({
    db,
    ...(file ? { file: { path: file.path, opened: fileIdentityOf(file.path)!, id: databaseId(db) } } : {}),
    intervalMs: 60_000,
    minFreeBytes: 1,
    onIdentityProblem: () => undefined,
  });

function refused(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    assert.ok(isStorageUnavailable(e), `a 503 STORAGE_UNAVAILABLE, not ${String(e)}`);
    return e;
  }
  assert.fail('the write was not refused');
}

describe('a full database', () => {
  it('turns read-only on SQLITE_FULL, keeps reading, refuses writes at once, and recovers by the probe', () => {
    const t = tempDb();
    try {
      const { db } = t;
      addRepo(db);
      addJob(db, 'j1');
      const log = new EventLog(db, new EventHub());
      log.append('j1', [said(1, 'before')]);
      // A hard size limit is SQLite's own SQLITE_FULL, the code a full disk gives.
      const pages = Number(db.raw.pragma('page_count', { simple: true }));
      db.raw.pragma(`max_page_count = ${pages}`);
      const err = refused(() => {
        for (let i = 2; i < 500; i++) log.append('j1', [said(i, 'x'.repeat(2000))]);
      });
      assert.equal(err.kind, 'unavailable');
      assert.match(err.message, /disk holding the database is full/);
      const view = db.storage.current();
      assert.equal(view.state, 'read_only');
      assert.equal(view.state === 'read_only' && view.cause, 'disk_full');
      const storedSeq = getLastSeq(db, 'j1');
      assert.ok(storedSeq >= 1, 'what was stored before stays');
      assert.equal(getJob(db, 'j1')?.id, 'j1', 'reads keep working');

      db.raw.pragma(`max_page_count = ${pages * 100}`); // space is back, but nothing has probed yet
      refused(() => addRepo(db, 'r2'));
      assert.equal(getLastSeq(db, 'j1'), storedSeq, 'a refused write changed nothing');

      const changes: string[] = [];
      db.storage.onChange((v) => changes.push(v.state));
      watchOf(db).checkNow();
      assert.deepEqual(changes, ['ok']);
      addRepo(db, 'r2');
      log.append('j1', [said(storedSeq + 1, 'after')]);
      assert.equal(getLastSeq(db, 'j1'), storedSeq + 1);
    } finally {
      t.cleanup();
    }
  });

  it('refused worker batches are kept unacknowledged and the job is marked for re-send', async () => {
    const t = tempDb();
    try {
      const { db } = t;
      addRepo(db);
      addJob(db, 'j1');
      const errors: unknown[] = [];
      const log = new EventLog(db, new EventHub(), (_job, e) => errors.push(e));
      db.storage.fault('disk_full', 'test: the disk is full');
      let acked = false;
      log.enqueue('j1', [said(1, 'held by the worker')], () => (acked = true));
      log.flush();
      assert.equal(acked, false, 'not acknowledged: the worker keeps it');
      assert.ok(errors.every(isStorageUnavailable) && errors.length === 1);
      assert.deepEqual(log.blockedJobs(), ['j1']);
      db.storage.recovered();
      log.enqueue('j1', [said(1, 'held by the worker')], () => (acked = true)); // the re-send
      log.flush();
      assert.equal(acked, true);
      assert.deepEqual(log.blockedJobs(), []);
    } finally {
      t.cleanup();
    }
  });
});

describe('a lock held by another process', () => {
  it('gives up within tens of ms (not seconds), turns read-only, and recovers when the lock goes', () => {
    const t = tempDb();
    const other = new Database(t.file);
    try {
      addRepo(t.db);
      other.exec('BEGIN EXCLUSIVE');
      other.prepare("INSERT INTO repos (id, path, name, default_branch, created_at) VALUES ('rx', '/x', 'x', 'main', 'now')").run();
      const t0 = performance.now();
      refused(() => addRepo(t.db, 'r2'));
      const waited = performance.now() - t0;
      assert.ok(waited < 1000, `the write gave up after ${Math.round(waited)} ms`);
      const view = t.db.storage.current();
      assert.equal(view.state === 'read_only' && view.cause, 'locked');
      const t1 = performance.now();
      refused(() => addRepo(t.db, 'r3'));
      assert.ok(performance.now() - t1 < 20, 'while read-only a write is refused without waiting at all');
      assert.equal(t.db.raw.prepare('select count(*) from repos').pluck().get(), 1, 'reads work under the lock (WAL)');
      const watch = watchOf(t.db);
      watch.checkNow();
      assert.equal(t.db.storage.current().state, 'read_only', 'the probe meets the lock too');
      other.exec('COMMIT');
      watch.checkNow();
      assert.equal(t.db.storage.current().state, 'ok');
      addRepo(t.db, 'r2');
    } finally {
      other.close();
      t.cleanup();
    }
  });
});

describe('the probe after a fault', () => {
  it('retries soon and then less often (backoff), and clears a short lock well before the regular look', async () => {
    const t = tempDb();
    const other = new Database(t.file);
    const watch = new StorageWatch({ db: t.db, intervalMs: 60_000, minFreeBytes: 1, onIdentityProblem: () => undefined });
    try {
      watch.start();
      other.exec('BEGIN EXCLUSIVE');
      other.prepare("INSERT INTO repos (id, path, name, default_branch, created_at) VALUES ('rx', '/x', 'x', 'main', 'now')").run();
      refused(() => addRepo(t.db, 'r2'));
      const t0 = performance.now();
      setTimeout(() => other.exec('COMMIT'), 300);
      while (t.db.storage.current().state !== 'ok') {
        assert.ok(performance.now() - t0 < 5000, 'a probe cleared the state within seconds, not at the 60 s regular look');
        await new Promise((r) => setTimeout(r, 20));
      }
      addRepo(t.db, 'r2');
    } finally {
      watch.stop();
      other.close();
      t.cleanup();
    }
  });
});

describe('the database identity', () => {
  it('is recorded beside a new database and checked at the next open', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'codeplane.db');
      const first = openStorage(file, new StorageState(), silent);
      const id = databaseId(first.db);
      assert.match(readFileSync(idFileFor(file), 'utf8'), new RegExp(`^${id}\\n$`));
      first.db.close();
      const again = openStorage(file, new StorageState(), silent);
      assert.equal(again.db.storage.current().state, 'ok');
      again.db.close();

      // Another database in its place (restored from elsewhere): refused, not adopted.
      for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
      openDatabase(file).close();
      const replaced = openStorage(file, new StorageState(), silent);
      const v = replaced.db.storage.current();
      assert.equal(v.state === 'identity_problem' && v.problem, 'replaced');
      refused(() => addRepo(replaced.db));
      replaced.db.close();
    } finally {
      cleanup();
    }
  });

  it('missing at start while its id file remains: no fresh database is created, writes are refused', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'codeplane.db');
      openStorage(file, new StorageState(), silent).db.close();
      for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
      const opened = openStorage(file, new StorageState(), silent);
      const v = opened.db.storage.current();
      assert.equal(v.state === 'identity_problem' && v.problem, 'missing');
      assert.match(v.state === 'identity_problem' ? v.reason : '', /delete the id file/);
      assert.equal(existsSync(file), false, 'nothing created where the user\'s database belongs');
      refused(() => addRepo(opened.db));
      opened.db.close();
    } finally {
      cleanup();
    }
  });

  it('deleted or replaced while open: the watch catches it, refuses writes, and saves a copy of a deleted one', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'codeplane.db');
      const opened = openStorage(file, new StorageState(), silent);
      addRepo(opened.db, 'r-kept');
      const rescues: Promise<string | undefined>[] = [];
      const watch = new StorageWatch({ db: opened.db, file: opened.file!, intervalMs: 60_000, minFreeBytes: 1, onIdentityProblem: (_f, r) => rescues.push(r) });
      watch.checkNow();
      assert.equal(opened.db.storage.current().state, 'ok', 'nothing to see yet');
      rmSync(file);
      watch.checkNow();
      const v = opened.db.storage.current();
      assert.equal(v.state === 'identity_problem' && v.problem, 'deleted');
      refused(() => addRepo(opened.db, 'r-lost'));
      assert.equal(rescues.length, 1);
      const copy = await rescues[0]!;
      assert.ok(copy && existsSync(copy), 'a copy of the deleted database was saved beside it');
      const saved = new Database(copy, { readonly: true });
      assert.deepEqual(saved.prepare('select id from repos').pluck().all(), ['r-kept'], 'the copy holds what the server held');
      saved.close();
      opened.db.close();

      // Replaced: another file at the path (a different inode), the id file untouched.
      const second = openStorage(join(dir, 'b.db'), new StorageState(), silent);
      const secondWatch = watchOf(second.db, { path: join(dir, 'b.db') });
      renameSync(join(dir, 'b.db'), join(dir, 'b-old.db'));
      writeFileSync(join(dir, 'b.db'), '');
      secondWatch.checkNow();
      const w = second.db.storage.current();
      assert.equal(w.state === 'identity_problem' && w.problem, 'replaced');
      second.db.close();
    } finally {
      cleanup();
    }
  });
});
