import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runGit } from '../../supervisor/git/git-exec.ts';
import { KeyedLock } from '../../supervisor/git/keyed-lock.ts';
import { addWorktree, removeWorktree, resolveCommit } from '../../supervisor/git/worktrees.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';

describe('worktree registrations of one repository change one at a time', () => {
  it('jobs created while others are discarded (worktree add racing worktree prune) all get their worktree', async () => {
    const repo = makeRepo();
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'cpl-wt-race-')));
    const commit = await resolveCommit(repo, 'main');
    const failures: string[] = [];
    for (let round = 0; round < 15; round++) {
      const adds = Array.from({ length: 6 }, (_, i) =>
        addWorktree(repo, join(root, `r${round}-${i}`), `codeplane/race/r${round}-${i}`, commit).catch((e: unknown) => void failures.push(e instanceof Error ? e.message : String(e))),
      );
      const prunes = Array.from({ length: 12 }, () => runGit(repo, ['worktree', 'prune']));
      await Promise.all([...adds, ...prunes]);
    }
    assert.deepEqual(failures, [], 'every worktree was added');
    const listed = git(repo, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length;
    assert.equal(listed, 1 + 15 * 6, 'and stays registered');
    await Promise.all(Array.from({ length: 4 }, (_, i) => removeWorktree(repo, join(root, `r0-${i}`), `codeplane/race/r0-${i}`)));
    assert.equal(git(repo, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length, 1 + 15 * 6 - 4);
  });
});

describe('KeyedLock', () => {
  it('runs one task at a time per key, in order, other keys meanwhile; a failure does not block the next', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let releaseA!: () => void;
    const a1 = lock.run('a', () => new Promise<void>((r) => (releaseA = () => (log.push('a1'), r()))));
    const a2 = lock.run('a', async () => void log.push('a2'));
    const a3 = lock.run('a', async () => {
      throw new Error('boom');
    });
    const a4 = lock.run('a', async () => void log.push('a4'));
    await lock.run('b', async () => void log.push('b1'));
    assert.deepEqual(log, ['b1'], 'b does not wait for a');
    releaseA();
    await a1;
    await a2;
    await assert.rejects(a3, /boom/);
    await a4;
    assert.deepEqual(log, ['b1', 'a1', 'a2', 'a4']);
    await new Promise((r) => setImmediate(r));
    assert.equal(lock.size, 0, 'idle keys are forgotten');
  });
});
