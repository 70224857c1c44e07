import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { diskUsage, reconcileWorktrees } from '../../supervisor/git/hygiene.ts';
import { listQuarantine } from '../../supervisor/git/quarantine.ts';
import { worktreePathFor } from '../../supervisor/git/worktrees.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';

describe('worktree hygiene', () => {
  it('moves unknown worktrees and stray directories to the quarantine (uncommitted work kept), prunes, and only reports orphaned codeplane branches', async (t) => {
    const repo = realpathSync(makeRepo('cpl-hyg-'));
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'cpl-wtroot-')));
    const quarantine = join(realpathSync(mkdtempSync(join(tmpdir(), 'cpl-home-'))), 'quarantine');
    t.after(() => {
      rmSync(repo, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
      rmSync(dirname(quarantine), { recursive: true, force: true });
    });
    const pathFor = (id: string) => worktreePathFor(root, repo, basename(repo), id);
    const known = pathFor('job-known');
    const orphan = pathFor('job-orphan');
    const stray = pathFor('job-stray');
    const vanished = pathFor('job-vanished');
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/known', known, 'main');
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/orphan', orphan, 'main');
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/vanished', vanished, 'main');
    writeFileSync(join(orphan, 'agent-work.txt'), 'not committed anywhere'); // the only copy of this work
    writeFileSync(join(orphan, 'README.md'), 'changed by the agent\n');
    rmSync(vanished, { recursive: true, force: true }); // registered, directory gone: prune's job
    mkdirSync(stray, { recursive: true }); // a directory git never heard of
    writeFileSync(join(stray, 'x'), 'x');
    git(repo, 'branch', 'codeplane/no-job', 'main');
    git(repo, 'branch', 'user-branch', 'main');
    const otherRepoDir = join(root, 'other-repo-abcdef12', 'job');
    mkdirSync(otherRepoDir, { recursive: true });

    const report = await reconcileWorktrees({ repoPath: repo, worktreesRoot: root, knownWorktreePaths: [known], quarantineRoot: quarantine });

    assert.deepEqual(report.quarantined.map((q) => q.from).sort(), [orphan, stray].sort());
    assert.deepEqual(report.left, []);
    assert.deepEqual(report.errors, []);
    assert.equal(existsSync(orphan), false, 'moved off the worktrees root');
    assert.equal(existsSync(stray), false);
    const movedOrphan = report.quarantined.find((q) => q.from === orphan)!;
    assert.equal(movedOrphan.branch, 'codeplane/orphan');
    assert.ok(movedOrphan.to.startsWith(`${quarantine}/`));
    assert.equal(readFileSync(join(movedOrphan.to, 'agent-work.txt'), 'utf8'), 'not committed anywhere', 'untracked work kept');
    assert.match(git(movedOrphan.to, 'status', '--porcelain'), /M README\.md/, 'still a worktree of the repository, its modification intact');
    const record = JSON.parse(readFileSync(join(dirname(movedOrphan.to), 'quarantine.json'), 'utf8')) as Record<string, string>;
    assert.equal(record['from'], orphan);
    assert.equal(record['branch'], 'codeplane/orphan');
    assert.equal(readFileSync(join(report.quarantined.find((q) => q.from === stray)!.to, 'x'), 'utf8'), 'x');
    assert.deepEqual(listQuarantine(quarantine).map((e) => e.record?.from).sort(), [orphan, stray].sort(), 'listed for cpl doctor');
    assert.ok(existsSync(known), 'a known job keeps its worktree');
    assert.ok(existsSync(otherRepoDir), 'another repository\'s worktrees are not this call\'s business');
    const listed = git(repo, 'worktree', 'list', '--porcelain');
    assert.ok(listed.includes(known));
    assert.ok(listed.includes(movedOrphan.to), 'git follows the moved worktree (git worktree move), so prune keeps it');
    assert.equal(listed.includes(vanished), false, 'pruned');
    assert.deepEqual(report.orphanBranches.sort(), ['codeplane/no-job', 'codeplane/orphan', 'codeplane/vanished'], 'its branch is still reported: no job owns it');
    assert.notEqual(git(repo, 'branch', '--list', 'codeplane/orphan'), '', 'branches are reported, never deleted');
  });

  it('a repository whose .git is gone is not reconciled: the enclosing repository\'s job worktrees are not taken for its own', async (t) => {
    const outer = realpathSync(makeRepo('cpl-hyg-outer-'));
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'cpl-wtroot-')));
    const quarantine = join(realpathSync(mkdtempSync(join(tmpdir(), 'cpl-home-'))), 'quarantine');
    t.after(() => {
      rmSync(outer, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
      rmSync(dirname(quarantine), { recursive: true, force: true });
    });
    // The outer repository's job, in progress, under the worktrees root.
    const outerJob = worktreePathFor(root, outer, basename(outer), 'job-outer');
    git(outer, 'worktree', 'add', '-q', '-b', 'codeplane/outer', outerJob, 'main');
    writeFileSync(join(outerJob, 'agent-work.txt'), 'the outer job\'s uncommitted work');
    // A repository registered inside it, whose .git the user deleted.
    const inner = join(outer, 'inner');
    mkdirSync(inner);
    git(inner, 'init', '-q', '-b', 'main');
    git(inner, 'commit', '-q', '--allow-empty', '-m', 'init');
    rmSync(join(inner, '.git'), { recursive: true, force: true });

    const report = await reconcileWorktrees({ repoPath: inner, worktreesRoot: root, knownWorktreePaths: [], quarantineRoot: quarantine });
    assert.deepEqual(report.quarantined, []);
    assert.equal(report.errors.length, 1);
    assert.match(report.errors[0]!.message, /repository is gone/);
    assert.equal(readFileSync(join(outerJob, 'agent-work.txt'), 'utf8'), 'the outer job\'s uncommitted work', 'the other repository\'s job worktree stays where it is');
    assert.match(git(outer, 'worktree', 'list'), /job-outer/);
  });

  it('leaves an unknown worktree in place, listed, when the quarantine is on another filesystem', async (t) => {
    const repo = realpathSync(makeRepo('cpl-hyg-'));
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'cpl-wtroot-')));
    const elsewhere = realpathSync(mkdtempSync('/dev/shm/cpl-q-'));
    t.after(() => {
      rmSync(repo, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
      rmSync(elsewhere, { recursive: true, force: true });
    });
    assert.notEqual(statSync(root).dev, statSync(elsewhere).dev, 'the test needs two filesystems');
    const orphan = worktreePathFor(root, repo, basename(repo), 'job-orphan');
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/orphan', orphan, 'main');
    writeFileSync(join(orphan, 'work.txt'), 'keep me');
    const report = await reconcileWorktrees({ repoPath: repo, worktreesRoot: root, knownWorktreePaths: [], quarantineRoot: join(elsewhere, 'quarantine') });
    assert.deepEqual(report.quarantined, []);
    assert.deepEqual(report.left.map((l) => l.path), [orphan]);
    assert.equal(readFileSync(join(orphan, 'work.txt'), 'utf8'), 'keep me', 'never copied then deleted: left where it was');
    assert.ok(git(repo, 'worktree', 'list', '--porcelain').includes(orphan));
    assert.deepEqual(listQuarantine(join(elsewhere, 'quarantine')), [], 'no empty entry left behind');
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
