import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { holdsSlot, pickJobsToStart } from '../../supervisor/jobs/scheduler.ts';
import { WaitClock } from '../../supervisor/wait-clock.ts';

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
    assert.equal(holdsSlot({ state: 'waiting_for_approval' }, 120_000, limits), false);
    assert.equal(holdsSlot({ state: 'waiting_for_approval' }, 30_000, limits), true);
    assert.equal(holdsSlot({ state: 'running' }, 10 ** 9, limits), true);
    assert.equal(holdsSlot({ state: 'waiting_for_approval' }, 10 ** 9, { maxConcurrentJobs: 1, maxJobsPerRepo: 1 }), true);
  });
  it('starts nothing when the queue is empty', () => {
    assert.deepEqual(pickJobsToStart([], [], { maxConcurrentJobs: 4, maxJobsPerRepo: 2 }), []);
  });

  it('measures an approval wait on the monotonic clock: the wall clock moved back or forward changes nothing', () => {
    let mono = 5_000;
    let wall = Date.parse('2026-11-24T12:00:00Z');
    const waits = new WaitClock(() => mono, () => wall);
    const job = { id: 'j1', state: 'waiting_for_approval', updatedAt: '2026-11-24T11:59:50Z' };
    assert.equal(waits.waitedMs(job), 10_000, 'first sighting: the age of updatedAt');
    mono += 20_000;
    wall -= 3600_000; // the clock is set back an hour
    assert.equal(waits.waitedMs(job), 30_000);
    wall += 7200_000; // and forward two
    mono += 1_000;
    assert.equal(waits.waitedMs(job), 31_000);
    assert.equal(waits.waitedMs({ ...job, updatedAt: '2026-11-24T14:00:31Z' }), 0, 'a new wait (updatedAt moved) starts afresh, never negative');
    assert.equal(waits.waitedMs({ ...job, state: 'running' }), 0);
    wall = Date.parse('2026-11-24T12:00:00Z');
    assert.equal(waits.waitedMs({ ...job, updatedAt: '2026-11-24T13:00:00Z' }), 0, 'an updatedAt in the future counts as now');
  });
});
