/**
 * Acknowledgements to a worker: the first goes out at once, a burst within
 * the interval collapses into one cumulative ack at its end, and a canceled
 * one is never written.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AckThrottle } from '../../supervisor/workers/ack-throttle.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('AckThrottle', () => {
  it('sends the first ack at once and collapses a burst into one cumulative ack', async () => {
    let now = 1000;
    const sent: number[] = [];
    const t = new AckThrottle((seq) => sent.push(seq), 20, () => now);
    t.ack(3);
    assert.deepEqual(sent, [3], 'the first one is not held');
    now += 5;
    t.ack(5);
    t.ack(4); // acks are cumulative: an older one never lowers the mark
    t.ack(9);
    assert.deepEqual(sent, [3], 'the burst waits for the interval');
    await sleep(40);
    assert.deepEqual(sent, [3, 9], 'one ack carries the highest seq');
    now += 100;
    t.ack(9);
    assert.deepEqual(sent, [3, 9], 'nothing new, nothing sent');
    t.ack(10);
    assert.deepEqual(sent, [3, 9, 10], 'after a quiet spell it goes at once again');
  });

  it('a canceled ack (the connection is gone) is never written', async () => {
    let now = 0;
    const sent: number[] = [];
    const t = new AckThrottle((seq) => sent.push(seq), 20, () => now);
    t.ack(1);
    now += 1;
    t.ack(2);
    t.cancel();
    await sleep(40);
    assert.deepEqual(sent, [1]);
  });
});
