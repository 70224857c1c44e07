import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { discardJob } from '../../supervisor/git/discard.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';

const BRANCH = 'codeplane/discard-me';

function setup(t: TestContext) {
  const repo = makeRepo('cpl-discard-');
  const root = mkdtempSync(join(tmpdir(), 'cpl-wtroot-'));
  t.after(() => {
    rmSync(repo, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });
  const wt = join(root, 'repo-1234', 'job1');
  git(repo, 'worktree', 'add', '-q', '-b', BRANCH, wt, 'main');
  writeFileSync(join(wt, 'work.txt'), 'uncommitted agent work\n');
  const branchExists = (b: string) => git(repo, 'branch', '--list', b) !== '';
  return { repo, root, wt, branchExists, input: { repoPath: repo, worktreePath: wt, branch: BRANCH, baseRef: 'main', worktreesRoot: root } };
}

describe('discarding a job', () => {
  it('removes the worktree and the job branch, and a second discard is a no-op', async (t) => {
    const { repo, wt, branchExists, input } = setup(t);
    const first = await discardJob(input);
    assert.deepEqual(first, { resolution: 'discarded', worktreeRemoved: true, branchDeleted: true });
    assert.equal(existsSync(wt), false);
    assert.equal(branchExists(BRANCH), false);
    assert.equal(git(repo, 'worktree', 'list', '--porcelain').includes(wt), false);
    assert.ok(branchExists('main'));

    const second = await discardJob(input);
    assert.deepEqual(second, { resolution: 'discarded', worktreeRemoved: false, branchDeleted: false });
    assert.ok(branchExists('main'));
  });

  it('cleans up a leftover directory under the worktrees root after a half-finished removal', async (t) => {
    const { repo, wt, branchExists, input } = setup(t);
    git(repo, 'worktree', 'remove', '--force', wt);
    mkdirSync(wt, { recursive: true });
    writeFileSync(join(wt, 'junk'), 'x');
    const r = await discardJob(input);
    assert.equal(r.worktreeRemoved, true);
    assert.equal(existsSync(wt), false);
    assert.equal(branchExists(BRANCH), false);
  });

  it('refuses to delete the base branch and removes nothing', async (t) => {
    const { wt, branchExists, input } = setup(t);
    await assert.rejects(discardJob({ ...input, branch: 'main' }), { code: 'REFUSE_BASE_BRANCH' });
    await assert.rejects(discardJob({ ...input, branch: 'refs/heads/main' }), { code: 'REFUSE_BASE_BRANCH' });
    assert.ok(existsSync(join(wt, 'work.txt')));
    assert.ok(branchExists('main'));
    assert.ok(branchExists(BRANCH));
  });

  it('refuses a foreign branch checked out elsewhere (the user\'s, another worktree\'s) and removes nothing', async (t) => {
    const { repo, root, wt, branchExists, input } = setup(t);
    git(repo, 'checkout', '-q', '-b', 'user-work');
    await assert.rejects(discardJob({ ...input, branch: 'user-work', baseRef: 'develop' }), { code: 'BRANCH_CHECKED_OUT' });
    const other = join(root, 'repo-1234', 'other');
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/other', other, 'main');
    await assert.rejects(discardJob({ ...input, branch: 'codeplane/other' }), { code: 'BRANCH_CHECKED_OUT' });
    assert.ok(existsSync(join(wt, 'work.txt')));
    assert.ok(existsSync(other));
    assert.ok(branchExists('user-work'));
    assert.ok(branchExists('codeplane/other'));
    assert.ok(branchExists(BRANCH));
  });

  it('never removes the repository\'s own working tree or a directory holding other worktrees', async (t) => {
    const { repo, root, input } = setup(t);
    await assert.rejects(discardJob({ ...input, worktreePath: repo }), { code: 'REFUSE_MAIN_WORKTREE' });
    await assert.rejects(discardJob({ ...input, worktreePath: join(repo, '..') }), { code: 'REFUSE_MAIN_WORKTREE' });
    await assert.rejects(discardJob({ ...input, worktreePath: join(root, 'repo-1234') }), { code: 'REFUSE_NOT_A_JOB_WORKTREE' });
    assert.ok(existsSync(join(repo, 'README.md')));
    assert.ok(existsSync(join(input.worktreePath, 'work.txt')));
  });

  it('does not delete an unregistered directory outside the worktrees root', async (t) => {
    const { repo, input } = setup(t);
    git(repo, 'worktree', 'remove', '--force', input.worktreePath);
    const outside = mkdtempSync(join(tmpdir(), 'cpl-outside-'));
    t.after(() => rmSync(outside, { recursive: true, force: true }));
    writeFileSync(join(outside, 'keep.txt'), 'keep');
    const r = await discardJob({ ...input, worktreePath: outside });
    assert.equal(r.worktreeRemoved, false);
    assert.ok(existsSync(join(outside, 'keep.txt')));
  });

  it('a repository deleted under the job: only the leftover worktree directory under the root goes, no git runs', async (t) => {
    const { repo, root, wt, input } = setup(t);
    const neighbour = join(root, 'repo-1234', 'job2');
    mkdirSync(neighbour, { recursive: true });
    writeFileSync(join(neighbour, 'keep.txt'), 'keep');
    rmSync(repo, { recursive: true, force: true });
    const r = await discardJob(input);
    assert.deepEqual(r, { resolution: 'discarded', worktreeRemoved: true, branchDeleted: false });
    assert.equal(existsSync(wt), false);
    assert.ok(existsSync(join(neighbour, 'keep.txt')), 'a sibling directory is not the job\'s');
    assert.deepEqual(await discardJob(input), { resolution: 'discarded', worktreeRemoved: false, branchDeleted: false }, 'and again: nothing left');
  });

  it('a repository whose .git was deleted inside an enclosing repository: that other repository\'s branches and worktrees are not touched', async (t) => {
    const outer = makeRepo('cpl-outer-');
    t.after(() => rmSync(outer, { recursive: true, force: true }));
    const repo = join(outer, 'inner');
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'init');
    const root = mkdtempSync(join(tmpdir(), 'cpl-wtroot-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const wt = join(root, 'inner-1', 'job1');
    git(repo, 'worktree', 'add', '-q', '-b', BRANCH, wt, 'main');
    // The enclosing repository has a branch of the same name checked out nowhere: a discard that ran git in
    // `inner` once its .git is gone would find the outer repository and delete it.
    git(outer, 'branch', BRANCH);
    rmSync(join(repo, '.git'), { recursive: true, force: true });
    const r = await discardJob({ repoPath: repo, worktreePath: wt, branch: BRANCH, baseRef: 'main', worktreesRoot: root });
    assert.equal(r.branchDeleted, false);
    assert.equal(existsSync(wt), false);
    assert.notEqual(git(outer, 'branch', '--list', BRANCH), '', 'the enclosing repository keeps its branch');
  });

  it('a symbolic link planted where the worktree was: the link goes, never what it points to', async (t) => {
    const { repo, wt, branchExists, input } = setup(t);
    const precious = mkdtempSync(join(tmpdir(), 'cpl-precious-'));
    t.after(() => rmSync(precious, { recursive: true, force: true }));
    writeFileSync(join(precious, 'thesis.txt'), 'years of work');
    rmSync(wt, { recursive: true, force: true });
    symlinkSync(precious, wt);
    const r = await discardJob(input);
    assert.equal(r.branchDeleted, true);
    assert.ok(existsSync(join(precious, 'thesis.txt')), 'the directory behind the link is untouched');
    assert.equal(lstatSync(wt, { throwIfNoEntry: false }), undefined, 'the link itself is gone');
    assert.equal(branchExists(BRANCH), false);
    assert.equal(git(repo, 'worktree', 'list', '--porcelain').includes(wt), false, 'the registration is pruned');
  });

  it('a symbolic link at a worktree path outside the worktrees root is refused, and nothing is removed', async (t) => {
    const { wt, input } = setup(t);
    const precious = mkdtempSync(join(tmpdir(), 'cpl-precious-'));
    const link = join(mkdtempSync(join(tmpdir(), 'cpl-elsewhere-')), 'job1');
    t.after(() => {
      rmSync(precious, { recursive: true, force: true });
      rmSync(dirname(link), { recursive: true, force: true });
    });
    writeFileSync(join(precious, 'thesis.txt'), 'years of work');
    symlinkSync(precious, link);
    await assert.rejects(discardJob({ ...input, worktreePath: link }), { code: 'REFUSE_NOT_A_JOB_WORKTREE' });
    assert.ok(existsSync(join(precious, 'thesis.txt')));
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.ok(existsSync(join(wt, 'work.txt')));
  });
});
