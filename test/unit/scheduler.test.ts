import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pickJobsToStart } from '../../supervisor/scheduler.ts';

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
  it('starts nothing when the queue is empty', () => {
    assert.deepEqual(pickJobsToStart([], [], { maxConcurrentJobs: 4, maxJobsPerRepo: 2 }), []);
  });
});
