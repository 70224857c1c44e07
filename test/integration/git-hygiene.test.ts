import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { diskUsage, reconcileWorktrees } from '../../supervisor/git/hygiene.ts';
import { worktreePathFor } from '../../supervisor/git/worktrees.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';

describe('worktree hygiene', () => {
  it('removes orphaned worktrees and stray directories, prunes, and only reports orphaned codeplane branches', async (t) => {
    const repo = realpathSync(makeRepo('cpl-hyg-'));
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'cpl-wtroot-')));
    t.after(() => {
      rmSync(repo, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    });
    const pathFor = (id: string) => worktreePathFor(root, repo, basename(repo), id);
    const known = pathFor('job-known');
    const orphan = pathFor('job-orphan');
    const stray = pathFor('job-stray');
    const vanished = pathFor('job-vanished');
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/known', known, 'main');
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/orphan', orphan, 'main');
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/vanished', vanished, 'main');
    rmSync(vanished, { recursive: true, force: true }); // registered, directory gone: prune's job
    mkdirSync(stray, { recursive: true }); // a directory git never heard of
    writeFileSync(join(stray, 'x'), 'x');
    git(repo, 'branch', 'codeplane/no-job', 'main');
    git(repo, 'branch', 'user-branch', 'main');
    const otherRepoDir = join(root, 'other-repo-abcdef12', 'job');
    mkdirSync(otherRepoDir, { recursive: true });

    const report = await reconcileWorktrees({ repoPath: repo, worktreesRoot: root, knownWorktreePaths: [known] });

    assert.deepEqual(report.removed.sort(), [orphan, stray, vanished].sort(), 'the vanished one is unregistered');
    assert.deepEqual(report.errors, []);
    assert.equal(existsSync(orphan), false);
    assert.equal(existsSync(stray), false);
    assert.ok(existsSync(known), 'a known job keeps its worktree');
    assert.ok(existsSync(otherRepoDir), 'another repository\'s worktrees are not this call\'s business');
    const listed = git(repo, 'worktree', 'list', '--porcelain');
    assert.ok(listed.includes(known));
    assert.equal(listed.includes(orphan), false);
    assert.equal(listed.includes(vanished), false, 'pruned');
    assert.deepEqual(report.orphanBranches.sort(), ['codeplane/no-job', 'codeplane/orphan', 'codeplane/vanished']);
    assert.notEqual(git(repo, 'branch', '--list', 'codeplane/orphan'), '', 'branches are reported, never deleted');
  });

  it('measures disk usage within a time budget', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cpl-du-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(dir, 'a'), Buffer.alloc(100_000, 1));
    writeFileSync(join(dir, 'sub', 'deeper', 'b'), Buffer.alloc(50_000, 1));
    const du = await diskUsage(dir);
    assert.equal(du.complete, true);
    assert.ok(du.bytes >= 150_000, `${du.bytes}`);
    assert.equal(du.entries, 5);
    const bounded = await diskUsage(dir, { maxEntries: 2 });
    assert.equal(bounded.complete, false);
    assert.ok(bounded.bytes < du.bytes);
    assert.deepEqual(await diskUsage(join(dir, 'missing')), { bytes: 0, complete: true, entries: 0 });
  });
});
