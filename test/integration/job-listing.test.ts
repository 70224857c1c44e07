/**
 * Reading jobs back: keyset pagination newest first (every job exactly once,
 * even while jobs are added), cursor validation, counts, the FIFO queue,
 * snapshots, and repo registration/deletion rules.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { AppError } from '../../machines/app-error.ts';
import type { JobState } from '../../machines/job-spec.ts';
import type { Db } from '../../supervisor/db/database.ts';
import {
  branchInUse, countByState, getSnapshot, listByStates, listJobs, listQueued, setSnapshot, updateJob,
} from '../../supervisor/db/jobs-repo.ts';
import { deleteRepo, findRepo, insertRepo, listRepos } from '../../supervisor/db/repos-repo.ts';
import { EventHub } from '../../supervisor/events/event-hub.ts';
import { EventLog } from '../../supervisor/events/event-log.ts';
import { addJob, addRepo, logged, tempDb } from '../helpers/storage-db.ts';

const at = (minute: number): string => new Date(Date.UTC(2025, 0, 2, 0, minute)).toISOString();

function pageAll(db: Db, opts: { states?: JobState[]; limit: number }, between?: () => void): Job[] {
  const seen: Job[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const page = listJobs(db, { ...opts, ...(cursor ? { cursor } : {}) });
    assert.ok(page.items.length <= opts.limit);
    seen.push(...page.items);
    if (page.nextCursor === null) return seen;
    cursor = page.nextCursor;
    between?.();
  }
  throw new Error('pagination did not end');
}

describe('jobs', () => {
  let db: Db;
  let cleanup: () => void;

  beforeEach(() => {
    ({ db, cleanup } = tempDb());
    addRepo(db, 'r1');
  });
  afterEach(() => cleanup());

  it('pages newest first, every job exactly once, ties broken by id', () => {
    // 23 jobs; pairs share a createdAt so the id tie-break matters.
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) {
      const id = `job-${String(i).padStart(2, '0')}`;
      addJob(db, id, { createdAt: at(Math.floor(i / 2)) });
      ids.push(id);
    }
    const expected = [...ids].reverse(); // later minute first; within a minute the larger id first
    for (const limit of [1, 5, 7, 23, 50]) assert.deepEqual(pageAll(db, { limit }).map((j) => j.id), expected, `limit ${limit}`);
    const last = listJobs(db, { limit: 23 });
    assert.equal(last.nextCursor, null, 'no cursor when nothing follows');
  });

  it('never repeats or skips an older job when newer ones are created while paging', () => {
    for (let i = 0; i < 10; i++) addJob(db, `old-${i}`, { createdAt: at(i) });
    let n = 0;
    const seen = pageAll(db, { limit: 3 }, () => addJob(db, `new-${n++}`, { createdAt: at(100 + n) }));
    assert.deepEqual(seen.map((j) => j.id), Array.from({ length: 10 }, (_, i) => `old-${9 - i}`));
  });

  it('filters by state while paging', () => {
    const states: JobState[] = ['queued', 'running', 'review', 'failed'];
    for (let i = 0; i < 16; i++) addJob(db, `j${String(i).padStart(2, '0')}`, { createdAt: at(i), state: states[i % 4]! });
    const got = pageAll(db, { states: ['running', 'failed'], limit: 3 });
    assert.deepEqual(got.map((j) => j.id), ['j15', 'j13', 'j11', 'j09', 'j07', 'j05', 'j03', 'j01']);
    assert.ok(got.every((j) => j.state === 'running' || j.state === 'failed'));
  });

  it('rejects a cursor it did not issue with INVALID_CURSOR', () => {
    addJob(db, 'a', { createdAt: at(1) });
    const garbage = [
      'garbage!!',
      '',
      Buffer.from('not json').toString('base64url'),
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from('["not a date","x"]').toString('base64url'),
      Buffer.from('{"createdAt":"2025-01-01T00:00:00Z"}').toString('base64url'),
    ];
    for (const cursor of garbage)
      assert.throws(
        () => listJobs(db, { limit: 5, cursor }),
        (e: unknown) => e instanceof AppError && e.code === 'INVALID_CURSOR' && e.kind === 'invalid',
        `cursor ${JSON.stringify(cursor)}`,
      );
  });

  it('maps rows to the wire Job, with the repo path and usage', () => {
    const job = addJob(db, 'j1', { createdAt: at(1) });
    assert.deepEqual(job, {
      id: 'j1', title: 'job j1', repo: '/repos/r1', repoId: 'r1', prompt: 'do it', agent: 'claude', model: null,
      state: 'queued', permissionMode: 'review_and_approve', baseRef: 'main', branch: 'cp/j1', worktreePath: '/wt/j1',
      createdAt: at(1), updatedAt: at(1),
      usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, costUsd: 0, turns: 0 },
    });
    assert.equal(updateJob(db, 'j1', { updatedAt: at(2), worktreePath: '/wt/elsewhere', model: 'sonnet' }), true);
    assert.equal(updateJob(db, 'missing', { updatedAt: at(2) }), false);
    const [listed] = listJobs(db, { limit: 1 }).items;
    assert.equal(listed?.worktreePath, '/wt/elsewhere');
    assert.equal(listed?.model, 'sonnet');
    assert.equal(listed?.updatedAt, at(2));
    assert.equal(branchInUse(db, 'r1', 'cp/j1'), true);
    assert.equal(branchInUse(db, 'r1', 'cp/other'), false);
  });

  it('counts by state, queues FIFO by insertion, and keeps snapshots', () => {
    // Created-at order is the reverse of insertion order: the queue must follow insertion.
    addJob(db, 'q1', { createdAt: at(9) });
    addJob(db, 'q2', { createdAt: at(5) });
    addJob(db, 'r', { createdAt: at(7), state: 'running' });
    addJob(db, 'q3', { createdAt: at(1) });
    assert.deepEqual(listQueued(db).map((j) => j.id), ['q1', 'q2', 'q3']);
    assert.deepEqual(listByStates(db, ['running', 'queued']).map((j) => j.id), ['q1', 'q2', 'r', 'q3']);
    assert.deepEqual(countByState(db), {
      queued: 3, preparing: 0, running: 1, waiting_for_approval: 0, review: 0, completed: 0, failed: 0, canceled: 0,
    });

    assert.equal(getSnapshot(db, 'q1'), undefined);
    const snap = { value: 'running', context: { pendingApprovals: [], n: 3 } };
    assert.equal(setSnapshot(db, 'q1', snap), true);
    assert.deepEqual(getSnapshot(db, 'q1'), snap);
    assert.equal(setSnapshot(db, 'nope', snap), false);
  });
});

describe('repos', () => {
  let db: Db;
  let cleanup: () => void;
  beforeEach(() => ({ db, cleanup } = tempDb()));
  afterEach(() => cleanup());

  it('registers a path once and finds it by id or path', () => {
    const a = addRepo(db, 'r1', '/src/app');
    const again = insertRepo(db, { id: 'r-other', path: '/src/app', name: 'x', defaultBranch: 'dev', createdAt: at(5) });
    assert.deepEqual(again, a, 'the existing registration is returned');
    assert.deepEqual(listRepos(db), [{ id: 'r1', path: '/src/app', name: 'r1', defaultBranch: 'main' }]);
    assert.deepEqual(findRepo(db, 'r1'), a);
    assert.deepEqual(findRepo(db, '/src/app'), a);
    assert.equal(findRepo(db, '/src/app/'), undefined, 'exact path only');
  });

  it('refuses to delete a repo with live jobs, then deletes it with its finished jobs and their events', () => {
    addRepo(db, 'r1');
    addRepo(db, 'r2');
    addJob(db, 'live', { state: 'running' });
    addJob(db, 'done', { state: 'completed' });
    addJob(db, 'elsewhere', { repoId: 'r2' });
    const log = new EventLog(db, new EventHub());
    log.append('done', [logged(1, 'info', 'x')]);
    log.append('elsewhere', [logged(1, 'info', 'y')]);

    assert.deepEqual(deleteRepo(db, 'r1'), { ok: false, code: 'REPO_HAS_ACTIVE_JOBS', jobIds: ['live'] });
    assert.ok(findRepo(db, 'r1'), 'still registered');
    updateJob(db, 'live', { updatedAt: at(3), state: 'canceled' });
    const r = deleteRepo(db, 'r1');
    assert.equal(r.ok, true);
    assert.deepEqual(r.ok && [...r.deletedJobIds].sort(), ['done', 'live']);
    assert.equal(findRepo(db, 'r1'), undefined);
    assert.deepEqual(log.readAfter(0, { limit: 10 }).map((e) => e.jobId), ['elsewhere'], "other repos' events stay");
    assert.deepEqual(deleteRepo(db, 'r1'), { ok: false, code: 'REPO_NOT_FOUND' });
    assert.deepEqual(db.raw.pragma('foreign_key_check'), []);
  });
});
