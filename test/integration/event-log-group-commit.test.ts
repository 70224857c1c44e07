/**
 * Group commit on a real SQLite file: batches queued by several workers in
 * one turn of the event loop are stored in one transaction, published in
 * arrival order only after the commit, and acknowledged only then; a
 * synchronous append stores the queue first; one bad batch does not cost the
 * others theirs.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { StoredEvent } from '../../api/contract.ts';
import type { Db } from '../../supervisor/db/database.ts';
import { getJob, getLastSeq } from '../../supervisor/db/jobs-repo.ts';
import { EventHub } from '../../supervisor/events/event-hub.ts';
import { EventLog } from '../../supervisor/events/event-log.ts';
import { addJob, addRepo, logged, seqd, tempDb } from '../helpers/storage-db.ts';

const turn = () => new Promise((r) => setImmediate(r));

describe('EventLog group commit', () => {
  let db: Db;
  let cleanup: () => void;
  let log: EventLog;
  let published: StoredEvent[];
  let errors: { jobId: string; error: unknown }[];

  beforeEach(() => {
    ({ db, cleanup } = tempDb());
    const hub = new EventHub();
    errors = [];
    log = new EventLog(db, hub, (jobId, error) => errors.push({ jobId, error }));
    published = [];
    hub.subscribe({}, (e) => published.push(e));
    addRepo(db, 'r1');
    for (const id of ['j1', 'j2', 'j3']) addJob(db, id);
  });
  afterEach(() => {
    assert.equal(db.raw.pragma('integrity_check', { simple: true }), 'ok');
    cleanup();
  });

  const count = () => db.raw.prepare('select count(*) from events').pluck().get() as number;

  it('stores a turn of batches in one transaction, then publishes and acknowledges them in order', async () => {
    const tx = db.tx.bind(db);
    let transactions = 0;
    db.tx = ((fn: () => unknown) => {
      transactions++;
      return tx(fn);
    }) as typeof db.tx;
    const acked: string[] = [];
    log.enqueue('j1', [logged(1, 'info', 'a'), logged(2, 'info', 'b')], (fresh) => acked.push(`j1:${fresh.length}`));
    log.enqueue('j2', [logged(1, 'info', 'c')], (fresh) => acked.push(`j2:${fresh.length}`));
    log.enqueue('j1', [logged(3, 'info', 'd')], (fresh) => acked.push(`j1:${fresh.length}`));
    assert.equal(count(), 0, 'nothing is stored before the end of the turn');
    assert.equal(published.length, 0, 'nor shown');
    assert.deepEqual(acked, [], 'nor acknowledged');
    await turn();
    assert.equal(count(), 4);
    assert.deepEqual(acked, ['j1:2', 'j2:1', 'j1:1']);
    assert.deepEqual(published.map((e) => `${e.jobId}/${e.seq}`), ['j1/1', 'j1/2', 'j2/1', 'j1/3'], 'arrival order');
    assert.deepEqual(published.map((e) => e.id), [...published.map((e) => e.id)].sort((a, b) => a - b), 'ids grow in publish order');
    assert.equal(getLastSeq(db, 'j1'), 3);
    assert.equal(getLastSeq(db, 'j2'), 1);
    assert.equal(transactions, 1, 'one transaction for the three batches');
  });

  it('a synchronous append (a supervisor-side transition) stores the queued batches first', () => {
    log.enqueue('j1', [logged(1, 'info', 'from the worker')], () => undefined);
    // The supervisor numbers its own event from the stored last_seq: the queued one must be there.
    assert.equal(getLastSeq(db, 'j1'), 0);
    log.append('j1', [seqd(2, { type: 'job_state_changed', from: 'queued', to: 'preparing' })]);
    assert.deepEqual(published.map((e) => e.seq), [1, 2]);
    assert.equal(getJob(db, 'j1')?.state, 'preparing');
    assert.equal(getLastSeq(db, 'j1'), 2);
  });

  it('flush() stores the queue now; re-sent seqs are acknowledged with nothing fresh', async () => {
    const acked: number[] = [];
    log.enqueue('j3', [logged(1, 'info', 'x')], (fresh) => acked.push(fresh.length));
    log.flush();
    assert.equal(count(), 1);
    log.enqueue('j3', [logged(1, 'info', 'x')], (fresh) => acked.push(fresh.length));
    await turn();
    assert.deepEqual(acked, [1, 0], 'the duplicate is acknowledged (the worker may drop it) but not stored again');
    assert.equal(published.length, 1);
  });

  it('one batch that cannot be stored costs the others nothing and is not acknowledged', async () => {
    db.raw.exec("CREATE TRIGGER boom BEFORE UPDATE OF resolution ON jobs WHEN NEW.id = 'j2' BEGIN SELECT RAISE(ABORT, 'boom'); END");
    const acked: string[] = [];
    log.enqueue('j1', [logged(1, 'info', 'a')], () => acked.push('j1'));
    log.enqueue('j2', [logged(1, 'info', 'b'), seqd(2, { type: 'job_resolved', resolution: 'merged' })], () => acked.push('j2'));
    log.enqueue('j3', [logged(1, 'info', 'c')], () => acked.push('j3'));
    await turn();
    assert.deepEqual(acked, ['j1', 'j3']);
    assert.deepEqual(published.map((e) => e.jobId), ['j1', 'j3']);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.jobId, 'j2');
    assert.match(String(errors[0]!.error), /boom/);
    assert.equal(getLastSeq(db, 'j2'), 0, "j2's batch rolled back whole");
    db.raw.exec('DROP TRIGGER boom');
    // What the worker sends next would leave a gap (seqs 1-2 are missing): neither stored nor acknowledged.
    log.enqueue('j2', [logged(3, 'info', 'later')], () => acked.push('j2 later'));
    await turn();
    assert.equal(getLastSeq(db, 'j2'), 0, 'no gap: the later batch waits for the re-send');
    assert.deepEqual(acked, ['j1', 'j3']);
    // The worker re-sends from the last stored seq (onError asked it to): stored, in order.
    log.enqueue('j2', [logged(1, 'info', 'b'), seqd(2, { type: 'job_resolved', resolution: 'merged' }), logged(3, 'info', 'later')], () => acked.push('j2'));
    await turn();
    assert.deepEqual(acked, ['j1', 'j3', 'j2'], 'the re-send is stored and acknowledged');
    assert.deepEqual(published.filter((e) => e.jobId === 'j2').map((e) => e.seq), [1, 2, 3]);
  });
});
