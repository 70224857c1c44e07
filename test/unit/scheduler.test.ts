import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { holdsSlot, pickJobsToStart } from '../../supervisor/scheduler.ts';

const j = (id: string, repoId = 'r1') => ({ id, repoId });
const ids = (xs: { id: string }[]) => xs.map((x) => x.id);

describe('scheduler: FIFO with global and per-repo caps', () => {
  it('starts the oldest jobs first up to the global cap', () => {
    assert.deepEqual(ids(pickJobsToStart([j('a', 'r1'), j('b', 'r2'), j('c', 'r3')], [], { maxConcurrentJobs: 2, maxJobsPerRepo: 5 })), ['a', 'b']);
  });
  it('counts running jobs against the caps', () => {
    assert.deepEqual(ids(pickJobsToStart([j('b', 'r2')], [j('x', 'r9'), j('y', 'r8')], { maxConcurrentJobs: 2, maxJobsPerRepo: 5 })), []);
  });
  it('a full repository does not block other repositories', () => {
    const picked = pickJobsToStart([j('a', 'r1'), j('b', 'r1'), j('c', 'r2')], [j('x', 'r1')], { maxConcurrentJobs: 4, maxJobsPerRepo: 2 });
    assert.deepEqual(ids(picked), ['a', 'c']);
  });
  it('a job waiting for approval past the limit frees its slot; a fresh wait or a running job does not', () => {
    const limits = { maxConcurrentJobs: 1, maxJobsPerRepo: 1, approvalHoldsSlotSeconds: 60 };
    const now = Date.parse('2026-11-24T12:00:00Z');
    assert.equal(holdsSlot({ state: 'waiting_for_approval', updatedAt: '2026-11-24T11:58:00Z' }, now, limits), false);
    assert.equal(holdsSlot({ state: 'waiting_for_approval', updatedAt: '2026-11-24T11:59:30Z' }, now, limits), true);
    assert.equal(holdsSlot({ state: 'running', updatedAt: '2026-11-24T00:00:00Z' }, now, limits), true);
    assert.equal(holdsSlot({ state: 'waiting_for_approval', updatedAt: '2026-11-24T00:00:00Z' }, now, { maxConcurrentJobs: 1, maxJobsPerRepo: 1 }), true);
  });
  it('starts nothing when the queue is empty', () => {
    assert.deepEqual(pickJobsToStart([], [], { maxConcurrentJobs: 4, maxJobsPerRepo: 2 }), []);
  });
});
