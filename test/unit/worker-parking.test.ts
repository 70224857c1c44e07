/**
 * Which workers are parked (stopped because their job idles in review), and
 * what the registry answers while one is on its way out. The whole path, with
 * real workers and CLIs, is in test/helpers/idle-scenarios.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../supervisor/config.ts';
import type { WorkerHandle } from '../../supervisor/workers/worker-handle.ts';
import { WorkerRegistry } from '../../supervisor/workers/worker-registry.ts';

/** The part of a WorkerHandle the registry uses, with a controllable clock and exit. */
class StubWorker {
  alive = true;
  parkedFor: string | undefined;
  constructor(private readonly idle: number, private readonly reachable = true) {}
  idleMs(): number {
    return this.idle;
  }
  park(reason: string): boolean {
    if (!this.reachable) return false;
    this.parkedFor = reason;
    return true;
  }
  destroy(): void {
    this.alive = false;
  }
}
const asHandle = (w: StubWorker): WorkerHandle => w as unknown as WorkerHandle;

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('parking idle workers', () => {
  it('parks only workers idle long enough whose job allows it and that can be reached', () => {
    const reg = new WorkerRegistry();
    const workers = { idle: new StubWorker(10_000), busy: new StubWorker(50), approval: new StubWorker(10_000), gone: new StubWorker(10_000, false) };
    for (const [id, w] of Object.entries(workers)) reg.set(id, asHandle(w));
    const parked = reg.parkIdle(5_000, (id) => id !== 'approval', 'idle in review for 5 s');
    assert.deepEqual(parked, ['idle']);
    assert.equal(workers.idle.parkedFor, 'idle in review for 5 s');
    assert.equal(reg.get('idle'), undefined, 'a parked worker is no longer the job\'s worker');
    for (const id of ['busy', 'approval', 'gone']) assert.ok(reg.get(id), `${id} keeps its worker`);
    assert.deepEqual(reg.parkIdle(5_000, () => true, 'again'), ['approval'], 'a parked worker is not parked twice');
  });

  it('until a parked worker has exited, the job is not free of it', async () => {
    const reg = new WorkerRegistry();
    const w = new StubWorker(10_000);
    reg.set('j', asHandle(w));
    reg.parkIdle(1, () => true, 'idle');
    let gone = false;
    const waiting = reg.gone('j', 5_000).then(() => (gone = true));
    const parkedGone = reg.parkedGone('j');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(gone, false, 'gone() waits for the parked worker');
    w.alive = false;
    reg.release('j', asHandle(w));
    await Promise.all([waiting, parkedGone]);
    assert.equal(gone, true);
  });

  it('config: idleWorkerSeconds defaults to 600, 0 turns it off, a bad value is refused by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpl-park-config-'));
    dirs.push(dir);
    const file = join(dir, 'config.json');
    writeFileSync(file, '{}');
    assert.equal(loadConfig(file).config.idleWorkerSeconds, 600);
    writeFileSync(file, JSON.stringify({ idleWorkerSeconds: 0 }));
    const { config, unknownKeys } = loadConfig(file);
    assert.deepEqual(unknownKeys, []);
    assert.equal(config.idleWorkerSeconds, 0);
    writeFileSync(file, JSON.stringify({ idleWorkerSeconds: -5 }));
    assert.throws(() => loadConfig(file), (e: Error) => e instanceof ConfigError && /idleWorkerSeconds/.test(e.message));
  });
});
