/**
 * The ref guard's decision, pure: which differences between the refs before
 * and after a turn are breaches. The job's own branch is the only exclusion.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareRefs } from '../../supervisor/refguard/ref-compare.ts';
import { REPO_HEAD, WORKTREE_HEAD } from '../../supervisor/refguard/ref-snapshot.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const OWN = 'codeplane/job-1';

const base = {
  'refs/heads/main': A,
  'refs/heads/feature': B,
  [`refs/heads/${OWN}`]: A,
  'refs/tags/v1': A,
  [REPO_HEAD]: 'ref: refs/heads/main',
  [WORKTREE_HEAD]: `ref: refs/heads/${OWN}`,
};

describe('compareRefs', () => {
  it('nothing changed: no change', () => {
    assert.deepEqual(compareRefs(base, { ...base }, OWN), []);
  });

  it("the job's own branch moving is not a change (short or full name)", () => {
    const after = { ...base, [`refs/heads/${OWN}`]: C };
    assert.deepEqual(compareRefs(base, after, OWN), []);
    assert.deepEqual(compareRefs(base, after, `refs/heads/${OWN}`), []);
  });

  it("the job's own branch deleted or created is not a change either", () => {
    const { [`refs/heads/${OWN}`]: _own, ...without } = base;
    assert.deepEqual(compareRefs(base, without, OWN), []);
    assert.deepEqual(compareRefs(without, base, OWN), []);
  });

  it('a moved branch is reported with both values', () => {
    assert.deepEqual(compareRefs(base, { ...base, 'refs/heads/main': C }, OWN), [{ kind: 'moved', ref: 'refs/heads/main', before: A, after: C }]);
  });

  it('a deleted branch is reported with its old value', () => {
    const { 'refs/heads/feature': _f, ...after } = base;
    assert.deepEqual(compareRefs(base, after, OWN), [{ kind: 'deleted', ref: 'refs/heads/feature', before: B }]);
  });

  it('a created tag or branch is reported with its value', () => {
    assert.deepEqual(compareRefs(base, { ...base, 'refs/tags/evil': C }, OWN), [{ kind: 'created', ref: 'refs/tags/evil', after: C }]);
  });

  it("a branch whose name only starts with the job's is not the job's", () => {
    assert.deepEqual(compareRefs(base, { ...base, [`refs/heads/${OWN}-2`]: C }, OWN), [{ kind: 'created', ref: `refs/heads/${OWN}-2`, after: C }]);
    assert.deepEqual(compareRefs(base, { ...base, [`refs/heads/${OWN}/x`]: C }, OWN), [{ kind: 'created', ref: `refs/heads/${OWN}/x`, after: C }]);
  });

  it("the repository's HEAD retargeted, or detached, is a change", () => {
    assert.deepEqual(compareRefs(base, { ...base, [REPO_HEAD]: 'ref: refs/heads/evil' }, OWN), [{ kind: 'moved', ref: REPO_HEAD, before: 'ref: refs/heads/main', after: 'ref: refs/heads/evil' }]);
    assert.deepEqual(compareRefs(base, { ...base, [REPO_HEAD]: C }, OWN), [{ kind: 'moved', ref: REPO_HEAD, before: 'ref: refs/heads/main', after: C }]);
  });

  it("the worktree's HEAD leaving the job's branch is a change", () => {
    assert.deepEqual(compareRefs(base, { ...base, [WORKTREE_HEAD]: 'ref: refs/heads/feature' }, OWN), [{ kind: 'moved', ref: WORKTREE_HEAD, before: `ref: refs/heads/${OWN}`, after: 'ref: refs/heads/feature' }]);
  });

  it('a ref turned unreadable is a change to "broken"', () => {
    assert.deepEqual(compareRefs(base, { ...base, 'refs/heads/main': 'broken' }, OWN), [{ kind: 'moved', ref: 'refs/heads/main', before: A, after: 'broken' }]);
  });

  it('several changes at once: all reported, sorted by name', () => {
    const { 'refs/heads/feature': _f, ...after } = { ...base, 'refs/heads/main': C, 'refs/tags/a': C, [REPO_HEAD]: 'ref: refs/heads/x' };
    const got = compareRefs(base, after, OWN);
    assert.deepEqual(got.map((c) => `${c.kind} ${c.ref}`), ['moved HEAD', 'deleted refs/heads/feature', 'moved refs/heads/main', 'created refs/tags/a']);
  });

  it("other jobs' branches working during the turn are excluded; any other job's branch is not", () => {
    const after = { ...base, 'refs/heads/codeplane/job-2': C, 'refs/heads/codeplane/job-3': C };
    assert.deepEqual(compareRefs(base, after, OWN, ['codeplane/job-2']), [{ kind: 'created', ref: 'refs/heads/codeplane/job-3', after: C }]);
    assert.deepEqual(compareRefs(base, after, OWN, ['codeplane/job-2', 'refs/heads/codeplane/job-3']), []);
  });

  it('undefined own branch: every change counts (how CodePlane measures its own ref changes)', () => {
    assert.deepEqual(compareRefs(base, { ...base, [`refs/heads/${OWN}`]: C }, undefined), [{ kind: 'moved', ref: `refs/heads/${OWN}`, before: A, after: C }]);
  });

  it('a ref named like an Object.prototype key is compared as data', () => {
    assert.deepEqual(compareRefs({}, { constructor: A } as Record<string, string>, OWN), [{ kind: 'created', ref: 'constructor', after: A }]);
  });
});
