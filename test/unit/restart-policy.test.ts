import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRestart } from '../../supervisor/jobs/restart-policy.ts';

const policy = { intensity: 3, periodMs: 60_000 };

describe('restart policy: intensity within a period', () => {
  const table: [string, number[], number, boolean, number?][] = [
    ['first crash restarts', [], 1_000, true, 1],
    ['second crash in the window restarts', [1_000], 2_000, true, 2],
    ['third crash in the window restarts', [1_000, 2_000], 3_000, true, 3],
    ['fourth crash in the window gives up', [1_000, 2_000, 3_000], 4_000, false],
    ['old crashes age out of the window', [1_000, 2_000, 3_000], 63_001, true, 1],
    ['a crash exactly one period later no longer counts', [0, 30_000, 40_000], 60_000, true, 3],
    ['only recent crashes count', [0, 59_000, 59_500], 61_000, true, 3],
  ];
  for (const [name, history, now, restart, attempt] of table) {
    it(name, () => {
      const d = decideRestart(history, now, policy);
      assert.equal(d.restart, restart);
      if (d.restart) {
        assert.equal(d.attempt, attempt);
        assert.equal(d.history.at(-1), now);
      } else assert.match(d.reason, /crashed 4 times within 60 s/);
    });
  }
  it('an intensity of zero never restarts', () => {
    assert.equal(decideRestart([], 0, { intensity: 0, periodMs: 1000 }).restart, false);
  });
});
