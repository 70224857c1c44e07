import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Outbox } from '../../workers/outbox.ts';

const log = (i: number) => ({ type: 'log_line' as const, level: 'info' as const, message: `line ${i}` });

describe('worker outbox', () => {
  it('numbers events from the given seq and drops them once acknowledged', async () => {
    const o = new Outbox(5);
    assert.equal(o.add(log(1)).seq, 5);
    assert.equal(o.add(log(2)).seq, 6);
    const drained = o.drained();
    o.ack(5);
    assert.deepEqual(o.pending().map((e) => e.seq), [6]);
    o.ack(6);
    await drained;
    assert.equal(o.size, 0);
  });

  it('with no supervisor, keeps memory bounded by spilling to a file and loses nothing', () => {
    const spillFile = join(mkdtempSync(join(tmpdir(), 'cpl-outbox-')), 'outbox.jsonl');
    const o = new Outbox(1, { spillFile, maxInMemory: 10 });
    for (let i = 1; i <= 100; i++) o.add(log(i));
    assert.ok(o.inMemory <= 10, `in memory: ${o.inMemory}`);
    assert.ok(existsSync(spillFile));
    assert.equal(o.size, 100);
    assert.deepEqual(o.pending().map((e) => e.seq), Array.from({ length: 100 }, (_, i) => i + 1));
    o.ack(60);
    assert.deepEqual(o.pending().map((e) => e.seq), Array.from({ length: 40 }, (_, i) => i + 61));
    assert.equal(o.size, 40);
    o.ack(100);
    assert.equal(o.size, 0);
    assert.equal(existsSync(spillFile), false, 'the spill file goes once everything is acknowledged');
  });

  it('transcript entries carry the seq of their event', () => {
    const o = new Outbox(7);
    const e = o.add({ type: 'transcript_update', entry: { role: 'agent', text: 'hi' } });
    assert.deepEqual(e.event, { type: 'transcript_update', entry: { role: 'agent', text: 'hi', seq: 7 } });
  });
});

describe('the outbox on a full disk', () => {
  it('keeps the events in memory when the spill file refuses them (ENOSPC), loses none and never throws', () => {
    // /dev/full answers every write with ENOSPC, as a full disk does.
    const o = new Outbox(1, { spillFile: '/dev/full', maxInMemory: 10 });
    for (let i = 0; i < 100; i++) o.add({ type: 'log_line', level: 'info', message: `m${i}` });
    assert.equal(o.size, 100);
    assert.equal(o.inMemory, 100, 'nothing left memory for a file that refused it');
    assert.deepEqual(o.pending().map((e) => e.seq), Array.from({ length: 100 }, (_, i) => i + 1));
    o.ack(100);
    assert.equal(o.size, 0);
  });
});
