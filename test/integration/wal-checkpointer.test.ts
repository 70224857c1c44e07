/**
 * WAL checkpoints run on their own thread: the server's connection never
 * checkpoints (its commits never pay for copying the WAL and the fsync),
 * yet the database file receives the data and nothing is lost.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { describe, it } from 'node:test';
import pino from 'pino';
import BetterSqlite3 from 'better-sqlite3';
import { startWalCheckpointer } from '../../supervisor/db/wal-checkpointer.ts';
import { EventHub } from '../../supervisor/event-hub.ts';
import { EventLog } from '../../supervisor/event-log.ts';
import { addJob, addRepo, said, tempDb } from '../helpers/storage-db.ts';

const sizeOf = (f: string) => statSync(f).size;

describe('the WAL checkpoint thread', () => {
  it('moves committed pages into the database file while the writer never checkpoints', async () => {
    const { db, file, cleanup } = tempDb();
    try {
      addRepo(db, 'r1');
      addJob(db, 'j1', { repoId: 'r1' });
      const cp = startWalCheckpointer(db, file, pino({ enabled: false }), 50);
      assert.equal(db.raw.pragma('wal_autocheckpoint', { simple: true }), 0, "the server's connection leaves checkpoints to the thread");
      const before = sizeOf(file);
      const log = new EventLog(db, new EventHub());
      const text = 'x'.repeat(1000);
      for (let b = 0; b < 40; b++) log.append('j1', Array.from({ length: 50 }, (_, i) => said(2 + b * 50 + i, `${text} ${b}/${i}`)));
      const deadline = Date.now() + 20_000;
      while (sizeOf(file) < before + 1_500_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(sizeOf(file) >= before + 1_500_000, `the database file grew from ${before} to ${sizeOf(file)} bytes: pages were checkpointed`);
      await cp.stop();
      db.close();
      const check = new BetterSqlite3(file, { readonly: true });
      assert.equal((check.prepare("SELECT count(*) AS n FROM events WHERE job_id = 'j1'").get() as { n: number }).n, 2000);
      check.close();
    } finally {
      if (db.isOpen) db.close();
      cleanup();
    }
  });

  it('without the thread, the same writes leave the database file alone (the test above can fail)', () => {
    const { db, file, cleanup } = tempDb();
    try {
      addRepo(db, 'r1');
      addJob(db, 'j1', { repoId: 'r1' });
      db.raw.pragma('wal_autocheckpoint = 0');
      const before = sizeOf(file);
      const log = new EventLog(db, new EventHub());
      for (let b = 0; b < 40; b++) log.append('j1', Array.from({ length: 50 }, (_, i) => said(2 + b * 50 + i, `${'x'.repeat(1000)} ${b}/${i}`)));
      assert.ok(sizeOf(file) < before + 500_000, 'nothing reached the database file yet');
    } finally {
      db.close();
      cleanup();
    }
  });
});
