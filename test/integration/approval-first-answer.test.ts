/**
 * An approval is answered once: the first answer (the user's over HTTP or
 * the worker's event) wins, later ones are refused with a stable code and
 * change nothing.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ApprovalRequest } from '../../machines/domain-events.ts';
import type { Db } from '../../supervisor/db/database.ts';
import { getApproval, insertApproval, listApprovals, resolveApproval } from '../../supervisor/db/approvals-repo.ts';
import { EventHub } from '../../supervisor/events/event-hub.ts';
import { EventLog } from '../../supervisor/events/event-log.ts';
import { addJob, addRepo, seqd, tempDb, tsOf } from '../helpers/storage-db.ts';

const request = (id: string, at = 1): ApprovalRequest => ({
  id, kind: 'write', summary: `write ${id}`, detail: { path: `/wt/${id}` }, requestedAt: tsOf(at), explicit: false,
});

describe('approvals: first answer wins', () => {
  let db: Db;
  let cleanup: () => void;
  let log: EventLog;

  beforeEach(() => {
    ({ db, cleanup } = tempDb());
    log = new EventLog(db, new EventHub());
    addRepo(db, 'r1');
    addJob(db, 'j1');
    addJob(db, 'j2');
  });
  afterEach(() => cleanup());

  it('accepts the first answer and refuses the second without changing it', () => {
    log.append('j1', [seqd(1, { type: 'approval_requested', approval: request('a1') })]);
    const first = resolveApproval(db, 'a1', { resolution: 'approved', note: 'go', resolvedAt: tsOf(2) });
    assert.deepEqual(first, {
      ok: true,
      approval: { ...request('a1'), jobId: 'j1', resolution: 'approved', note: 'go', resolvedAt: tsOf(2) },
    });
    const second = resolveApproval(db, 'a1', { resolution: 'rejected', note: 'no', resolvedAt: tsOf(3) });
    assert.deepEqual(second, { ok: false, code: 'APPROVAL_ALREADY_RESOLVED' });
    const stored = getApproval(db, 'a1')!;
    assert.equal(stored.resolution, 'approved');
    assert.equal(stored.note, 'go');
    assert.equal(stored.resolvedAt, tsOf(2));
  });

  it('answers an unknown id with APPROVAL_NOT_FOUND', () => {
    assert.deepEqual(resolveApproval(db, 'nope', { resolution: 'approved', resolvedAt: tsOf(1) }), {
      ok: false,
      code: 'APPROVAL_NOT_FOUND',
    });
  });

  it("keeps the user's answer when the worker's approval_resolved event arrives later", () => {
    log.append('j1', [seqd(1, { type: 'approval_requested', approval: request('a1') })]);
    assert.equal(resolveApproval(db, 'a1', { resolution: 'rejected', note: 'not that file', resolvedAt: tsOf(2) }).ok, true);
    const stored = log.append('j1', [seqd(2, { type: 'approval_resolved', approvalId: 'a1', resolution: 'approved' })]);
    assert.equal(stored.length, 1, 'the event itself is logged');
    const a = getApproval(db, 'a1')!;
    assert.equal(a.resolution, 'rejected');
    assert.equal(a.note, 'not that file');
  });

  it("refuses the user's answer after the worker resolved it", () => {
    log.append('j1', [
      seqd(1, { type: 'approval_requested', approval: request('a1') }),
      seqd(2, { type: 'approval_resolved', approvalId: 'a1', resolution: 'approved' }),
    ]);
    const r = resolveApproval(db, 'a1', { resolution: 'rejected', resolvedAt: tsOf(3) });
    assert.deepEqual(r, { ok: false, code: 'APPROVAL_ALREADY_RESOLVED' });
    assert.equal(getApproval(db, 'a1')!.resolution, 'approved');
  });

  it('never reopens an answered approval when the request is re-sent', () => {
    assert.equal(insertApproval(db, 'j1', request('a1')), true);
    resolveApproval(db, 'a1', { resolution: 'approved', resolvedAt: tsOf(2) });
    assert.equal(insertApproval(db, 'j1', request('a1')), false);
    assert.equal(getApproval(db, 'a1')!.resolution, 'approved');
  });

  it('lists by state and job, oldest request first', () => {
    insertApproval(db, 'j1', request('a2', 2));
    insertApproval(db, 'j1', request('a1', 1));
    insertApproval(db, 'j2', request('b1', 3));
    resolveApproval(db, 'a2', { resolution: 'approved', resolvedAt: tsOf(4) });
    const ids = (q: Parameters<typeof listApprovals>[1]) => listApprovals(db, q).map((a) => a.id);
    assert.deepEqual(ids({}), ['a1', 'a2', 'b1']);
    assert.deepEqual(ids({ state: 'pending' }), ['a1', 'b1']);
    assert.deepEqual(ids({ state: 'resolved' }), ['a2']);
    assert.deepEqual(ids({ jobId: 'j1' }), ['a1', 'a2']);
    assert.deepEqual(ids({ state: 'pending', jobId: 'j2' }), ['b1']);
  });
});
