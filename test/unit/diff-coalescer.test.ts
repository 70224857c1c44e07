import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DiffCoalescer } from '../../supervisor/git/diff-coalescer.ts';

/** A compute function whose runs the test finishes by hand. */
function gate() {
  const runs: Array<{ key: string; finish: (v: number) => void; fail: (e: unknown) => void }> = [];
  let active = 0;
  let maxActive = 0;
  const compute = (key: string) =>
    new Promise<number>((resolve, reject) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      const n = runs.length + 1;
      runs.push({
        key,
        finish: () => {
          active -= 1;
          resolve(n);
        },
        fail: (e) => {
          active -= 1;
          reject(e);
        },
      });
    });
  return { runs, compute, maxActive: () => maxActive };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('DiffCoalescer', () => {
  it('keeps one computation in flight per job and collapses a burst into one follow-up', async () => {
    const g = gate();
    const results: number[] = [];
    const c = new DiffCoalescer<number>({ compute: g.compute, onResult: (_k, r) => results.push(r) });
    c.request('j1');
    await tick();
    assert.equal(g.runs.length, 1);
    for (let i = 0; i < 20; i++) c.request('j1');
    await tick();
    assert.equal(g.runs.length, 1, 'no second run while the first is in flight');
    g.runs[0]!.finish(0);
    await tick();
    assert.equal(g.runs.length, 2, 'exactly one follow-up for the 20 requests');
    g.runs[1]!.finish(0);
    await c.idle('j1');
    assert.equal(g.runs.length, 2);
    assert.deepEqual(results, [1, 2]);
    assert.equal(g.maxActive(), 1);
    assert.equal(c.isRunning('j1'), false);
  });

  it('collapses a synchronous burst before the first run into that run', async () => {
    const g = gate();
    const c = new DiffCoalescer<number>({ compute: g.compute });
    c.request('j');
    c.request('j');
    c.request('j');
    await tick();
    g.runs[0]!.finish(0);
    await c.idle();
    assert.equal(g.runs.length, 1);
  });

  it('runs different jobs independently', async () => {
    const g = gate();
    const c = new DiffCoalescer<number>({ compute: g.compute });
    c.request('a');
    c.request('b');
    await tick();
    assert.deepEqual(g.runs.map((r) => r.key), ['a', 'b']);
    g.runs.forEach((r) => r.finish(0));
    await c.idle();
  });

  it('flush() resolves with a run that started after the call, not the stale in-flight one', async () => {
    const g = gate();
    const c = new DiffCoalescer<number>({ compute: g.compute });
    c.request('j');
    await tick();
    let flushed: number | undefined;
    const p = c.flush('j').then((r) => (flushed = r));
    const p2 = c.flush('j');
    g.runs[0]!.finish(0);
    await tick();
    assert.equal(flushed, undefined, 'the in-flight result is not the flush result');
    assert.equal(g.runs.length, 2, 'both flushes share one fresh run');
    g.runs[1]!.finish(0);
    await p;
    assert.equal(flushed, 2);
    assert.equal(await p2, 2);
  });

  it('flush() on an idle job computes now', async () => {
    const g = gate();
    const c = new DiffCoalescer<number>({ compute: g.compute });
    const p = c.flush('j');
    await tick();
    assert.equal(g.runs.length, 1);
    g.runs[0]!.finish(0);
    assert.equal(await p, 1);
  });

  it('reports failures to onError or to the flush caller, and keeps serving the job', async () => {
    const g = gate();
    const errors: unknown[] = [];
    const c = new DiffCoalescer<number>({ compute: g.compute, onError: (_k, e) => errors.push(e) });
    c.request('j');
    await tick();
    g.runs[0]!.fail(new Error('boom'));
    await c.idle('j');
    assert.equal(errors.length, 1);
    const p = c.flush('j');
    await tick();
    g.runs[1]!.fail(new Error('again'));
    await assert.rejects(p, /again/);
    assert.equal(errors.length, 1, 'a flush failure goes to the flush caller only');
    c.request('j');
    await tick();
    assert.equal(g.runs.length, 3);
    g.runs[2]!.finish(0);
    await c.idle();
  });

  it('survives a throwing onResult callback', async () => {
    const g = gate();
    const c = new DiffCoalescer<number>({
      compute: g.compute,
      onResult: () => {
        throw new Error('listener bug');
      },
    });
    c.request('j');
    await tick();
    g.runs[0]!.finish(0);
    await c.idle('j');
    assert.equal(c.isRunning('j'), false);
  });
});
