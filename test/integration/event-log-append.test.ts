/**
 * The durable event log on a real SQLite file: idempotent appends, global ids
 * that only grow, exact replay after an id, publish-after-commit, and the
 * projection that keeps the jobs/approvals tables in step with the log.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { StoredEvent } from '../../api/contract.ts';
import type { Db } from '../../supervisor/db/database.ts';
import { getApproval, listApprovals } from '../../supervisor/db/approvals-repo.ts';
import { getJob, getLastSeq, updateJob } from '../../supervisor/db/jobs-repo.ts';
import { deleteRepo } from '../../supervisor/db/repos-repo.ts';
import { EventHub } from '../../supervisor/events/event-hub.ts';
import { EventLog } from '../../supervisor/events/event-log.ts';
import { addJob, addRepo, logged, said, seqd, stateChanged, tempDb, tsOf } from '../helpers/storage-db.ts';

describe('EventLog.append', () => {
  let db: Db;
  let cleanup: () => void;
  let hub: EventHub;
  let log: EventLog;
  let published: StoredEvent[];

  beforeEach(() => {
    ({ db, cleanup } = tempDb());
    hub = new EventHub();
    log = new EventLog(db, hub);
    published = [];
    hub.subscribe({}, (e) => published.push(e));
    addRepo(db, 'r1');
    addJob(db, 'j1');
    addJob(db, 'j2');
  });
  afterEach(() => {
    assert.equal(db.raw.pragma('integrity_check', { simple: true }), 'ok');
    cleanup();
  });

  it('is idempotent: re-sent seqs insert nothing and publish nothing', () => {
    const batch = [logged(1, 'info', 'a'), logged(2, 'info', 'b'), logged(3, 'info', 'c')];
    const first = log.append('j1', batch);
    assert.deepEqual(first.map((e) => e.seq), [1, 2, 3]);
    assert.deepEqual(published, first, 'published exactly what was stored, in order');

    assert.deepEqual(log.append('j1', batch), [], 'a full re-send stores nothing');
    assert.equal(published.length, 3, 'and publishes nothing');

    const overlap = log.append('j1', [logged(2, 'info', 'b'), logged(3, 'info', 'c'), logged(4, 'info', 'd')]);
    assert.deepEqual(overlap.map((e) => e.seq), [4], 'a partial re-send stores only the new seq');
    assert.deepEqual(published.map((e) => e.seq), [1, 2, 3, 4]);
    assert.equal(db.raw.prepare("select count(*) from events where job_id = 'j1'").pluck().get(), 4);
    assert.equal(getLastSeq(db, 'j1'), 4);
  });

  it('gives strictly increasing global ids across jobs, never reused after deletes', () => {
    const ids: number[] = [];
    for (let seq = 1; seq <= 5; seq++) {
      ids.push(...log.append('j1', [logged(seq, 'info', `j1-${seq}`)]).map((e) => e.id));
      ids.push(...log.append('j2', [logged(seq, 'info', `j2-${seq}`), said(seq + 100, 'x')]).map((e) => e.id));
    }
    assert.equal(ids.length, 15);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `id ${ids[i]} > ${ids[i - 1]}`);
    assert.deepEqual(log.readAfter(0, { limit: 100 }).map((e) => e.id), ids);
    assert.equal(log.lastEventId(), ids.at(-1));

    // Delete the repo (its jobs finished): the top ids go, but are never handed out again.
    updateJob(db, 'j1', { updatedAt: tsOf(1), state: 'completed' });
    updateJob(db, 'j2', { updatedAt: tsOf(1), state: 'canceled' });
    assert.equal(deleteRepo(db, 'r1').ok, true);
    assert.equal(log.lastEventId(), 0, 'the log is empty');
    addRepo(db, 'r2');
    addJob(db, 'j3', { repoId: 'r2' });
    const [next] = log.append('j3', [logged(1, 'info', 'after delete')]);
    assert.ok(next && next.id > ids.at(-1)!, `new id ${next?.id} exceeds every earlier id`);
  });

  it('readAfter returns exactly the events after an id, in order, per job and paged', () => {
    for (let seq = 1; seq <= 6; seq++) {
      log.append('j1', [logged(seq, 'info', `a${seq}`)]);
      log.append('j2', [logged(seq, 'info', `b${seq}`)]);
    }
    const all = log.readAfter(0, { limit: 1000 });
    assert.equal(all.length, 12);
    for (let k = 0; k < all.length; k++) assert.deepEqual(log.readAfter(all[k]!.id, { limit: 1000 }), all.slice(k + 1));
    assert.deepEqual(log.readAfter(all.at(-1)!.id, { limit: 10 }), [], 'nothing after the last');

    const j2 = all.filter((e) => e.jobId === 'j2');
    assert.deepEqual(log.readAfter(0, { jobId: 'j2', limit: 1000 }), j2);
    assert.deepEqual(log.readAfter(j2[2]!.id, { jobId: 'j2', limit: 2 }), j2.slice(3, 5), 'limit pages');

    // Payloads round-trip: the stored event is the event sent.
    assert.deepEqual(all[0]!.event, { type: 'log_line', level: 'info', message: 'a1' });
    assert.equal(all[0]!.ts, tsOf(1));
  });

  it('projects state, failure reason, session, usage, resolution and last_seq', () => {
    log.append('j1', [
      stateChanged(1, 'queued', 'preparing'),
      stateChanged(2, 'preparing', 'running'),
      seqd(3, { type: 'session_started', agentSessionId: 'sess-1', model: 'opus' }),
      seqd(4, { type: 'telemetry', inputTokens: 100, outputTokens: 10, cacheReadTokens: 5, costUsd: 0.25, turns: 1 }),
      seqd(5, { type: 'telemetry', inputTokens: 50, outputTokens: 7 }),
      stateChanged(6, 'running', 'failed', 'the agent crashed'),
    ]);
    let job = getJob(db, 'j1')!;
    assert.equal(job.state, 'failed');
    assert.equal(job.failureReason, 'the agent crashed');
    assert.equal(job.completedAt, tsOf(6));
    assert.equal(job.updatedAt, tsOf(6));
    assert.equal(job.agentSessionId, 'sess-1');
    assert.equal(job.model, 'opus');
    assert.deepEqual(job.usage, { inputTokens: 150, outputTokens: 17, cacheReadTokens: 5, costUsd: 0.25, turns: 1 });
    assert.equal(getLastSeq(db, 'j1'), 6);

    // Resume: leaving `failed` clears the reason and the completion time.
    log.append('j1', [stateChanged(7, 'failed', 'running'), stateChanged(8, 'running', 'review')]);
    job = getJob(db, 'j1')!;
    assert.equal(job.state, 'review');
    assert.equal(job.failureReason, undefined);
    assert.equal(job.completedAt, undefined);

    log.append('j1', [
      seqd(9, { type: 'job_resolved', resolution: 'pr_created', prUrl: 'https://example.test/pr/1' }),
      stateChanged(10, 'review', 'completed'),
    ]);
    job = getJob(db, 'j1')!;
    assert.equal(job.resolution, 'pr_created');
    assert.equal(job.prUrl, 'https://example.test/pr/1');
    assert.equal(job.completedAt, tsOf(10));

    // A late, lower seq (filling a gap) never lowers last_seq.
    log.append('j1', [logged(20, 'info', 'x'), logged(15, 'info', 'late')]);
    assert.equal(getLastSeq(db, 'j1'), 20);
    assert.equal(getJob(db, 'j2')!.state, 'queued', 'other jobs untouched');
    assert.equal(getLastSeq(db, 'j2'), 0);
  });

  it('a job moved on by an event that does not come from `failed` drops the failure reason (no stale reason in review)', () => {
    // The supervisor recorded a lost worker (running → failed) while a worker of the job still ran; that
    // worker's next events say `from: running`. The job is in review: the earlier failure is no reason of it.
    log.append('j1', [stateChanged(1, 'queued', 'preparing'), stateChanged(2, 'preparing', 'running'), stateChanged(3, 'running', 'failed', 'The job worker was killed (SIGKILL)')]);
    assert.equal(getJob(db, 'j1')!.failureReason, 'The job worker was killed (SIGKILL)');
    log.append('j1', [stateChanged(4, 'running', 'review')]);
    const job = getJob(db, 'j1')!;
    assert.equal(job.state, 'review');
    assert.equal(job.failureReason, undefined);
    assert.equal(job.completedAt, undefined);
  });

  it('projects approval requests as pending rows and worker answers as resolved', () => {
    const approval = {
      id: 'a1', kind: 'shell' as const, summary: 'rm -rf build', detail: { command: 'rm -rf build' },
      requestedAt: tsOf(1), explicit: true, toolName: 'Bash',
    };
    log.append('j1', [seqd(1, { type: 'approval_requested', approval })]);
    assert.deepEqual(listApprovals(db, { state: 'pending' }), [
      { id: 'a1', jobId: 'j1', kind: 'shell', summary: 'rm -rf build', detail: { command: 'rm -rf build' }, requestedAt: tsOf(1), explicit: true },
    ]);
    log.append('j1', [seqd(2, { type: 'approval_resolved', approvalId: 'a1', resolution: 'rejected', note: 'timeout' })]);
    assert.deepEqual(listApprovals(db, { state: 'pending' }), []);
    const a = getApproval(db, 'a1')!;
    assert.equal(a.resolution, 'rejected');
    assert.equal(a.note, 'timeout');
    assert.equal(a.resolvedAt, tsOf(2));
  });

  it('stores nothing and publishes nothing when the transaction fails', () => {
    // Make the projection of job_resolved fail, after the log line before it was inserted.
    db.raw.exec("CREATE TRIGGER boom BEFORE UPDATE OF resolution ON jobs BEGIN SELECT RAISE(ABORT, 'boom'); END");
    assert.throws(
      () => log.append('j1', [logged(1, 'info', 'first'), seqd(2, { type: 'job_resolved', resolution: 'merged' })]),
      /boom/,
    );
    assert.equal(db.raw.prepare('select count(*) from events').pluck().get(), 0, 'the insert rolled back');
    assert.equal(getLastSeq(db, 'j1'), 0, 'the projection rolled back');
    assert.deepEqual(published, []);
    db.raw.exec('DROP TRIGGER boom');
    assert.equal(log.append('j1', [logged(1, 'info', 'first')]).length, 1, 'the seqs can be sent again');
  });
});

describe('EventHub', () => {
  const ev = (id: number, jobId: string): StoredEvent => ({
    id, jobId, seq: id, ts: tsOf(id), event: { type: 'log_line', level: 'info', message: String(id) },
  });

  it('delivers by job filter, survives a throwing listener, and unsubscribes', () => {
    const errors: unknown[] = [];
    const hub = new EventHub({ onListenerError: (err) => errors.push(err) });
    const all: number[] = [];
    const onlyJ1: number[] = [];
    hub.subscribe({}, () => {
      throw new Error('listener bug');
    });
    const offAll = hub.subscribe({}, (e) => all.push(e.id));
    const offJ1 = hub.subscribe({ jobId: 'j1' }, (e) => onlyJ1.push(e.id));
    hub.publish([ev(1, 'j1'), ev(2, 'j2'), ev(3, 'j1')]);
    assert.deepEqual(all, [1, 2, 3]);
    assert.deepEqual(onlyJ1, [1, 3]);
    assert.equal(errors.length, 3, 'the thrower was reported once per event');

    offJ1();
    offJ1(); // idempotent
    offAll();
    hub.publish([ev(4, 'j1')]);
    assert.deepEqual(all, [1, 2, 3]);
    assert.deepEqual(onlyJ1, [1, 3]);
    assert.equal(hub.size, 1, 'only the thrower is left');
  });
});
