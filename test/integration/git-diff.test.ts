import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import { computeDiff } from '../../supervisor/git/diff.ts';
import { DiffPool } from '../../supervisor/git/diff-pool.ts';
import type { DiffResult } from '../../machines/diff-types.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';

const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag} line ${i + 1}`).join('\n') + '\n';
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** A repo on `main` and a job worktree on `codeplane/job` branched from it. */
function repoWithJob(dirs: string[]) {
  const repo = makeRepo('cpl-diff-');
  writeFileSync(join(repo, 'edit.txt'), lines(10, 'base'));
  writeFileSync(join(repo, 'gone.txt'), 'to be deleted\n');
  writeFileSync(join(repo, 'moveme.txt'), lines(20, 'stable'));
  writeFileSync(join(repo, 'committed.txt'), 'one\n');
  writeFileSync(join(repo, 'img.bin'), Buffer.from([0, 1, 2, 3, 0, 255]));
  writeFileSync(join(repo, '.gitignore'), '*.log\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'base files');
  const wt = join(mkdtempSync(join(tmpdir(), 'cpl-wt-')), 'job');
  git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/job', wt, 'main');
  dirs.push(repo, join(wt, '..'));
  return { repo, wt };
}

describe('the job diff', () => {
  const dirs: string[] = [];
  let pool: DiffPool;
  before(() => {
    pool = new DiffPool({ maxThreads: 2 });
  });
  after(async () => {
    await pool.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('covers committed, staged, unstaged, untracked, deleted, renamed and binary changes without touching the real index', async () => {
    const { repo, wt } = repoWithJob(dirs);
    writeFileSync(join(wt, 'committed.txt'), 'one\ntwo\n');
    git(wt, 'commit', '-qam', 'agent commit');
    writeFileSync(join(wt, 'edit.txt'), lines(10, 'base').replace('base line 5\n', 'agent line 5\nagent line 5b\n'));
    git(wt, 'add', 'edit.txt'); // staged
    writeFileSync(join(wt, 'edit.txt'), readFileSync(join(wt, 'edit.txt'), 'utf8') + 'unstaged tail\n'); // and unstaged on top
    unlinkSync(join(wt, 'gone.txt'));
    renameSync(join(wt, 'moveme.txt'), join(wt, 'moved.txt')); // a rename git has not been told about
    writeFileSync(join(wt, 'new.txt'), 'brand new\n'); // untracked
    writeFileSync(join(wt, 'img.bin'), Buffer.from([0, 9, 9, 9, 0, 1]));
    writeFileSync(join(wt, 'debug.log'), 'ignored\n');

    const indexPath = git(wt, 'rev-parse', '--path-format=absolute', '--git-path', 'index');
    const indexBefore = sha(indexPath);
    const statusBefore = git(wt, '--no-optional-locks', 'status', '--porcelain');

    const d = await computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'main', pool });

    assert.equal(sha(indexPath), indexBefore, 'the worktree index file is byte-identical');
    assert.equal(git(wt, '--no-optional-locks', 'status', '--porcelain'), statusBefore);
    assert.equal(git(wt, 'diff', '--cached', '--name-only'), 'edit.txt', 'what the agent staged is still exactly what is staged');

    const by = new Map(d.files.map((f) => [f.path, f]));
    assert.deepEqual([...by.keys()].sort(), ['committed.txt', 'edit.txt', 'gone.txt', 'img.bin', 'moved.txt', 'new.txt']);
    assert.equal(by.get('committed.txt')!.status, 'modified');
    assert.equal(by.get('new.txt')!.status, 'added');
    assert.equal(by.get('gone.txt')!.status, 'deleted');
    assert.equal(by.get('moved.txt')!.status, 'renamed');
    assert.equal(by.get('moved.txt')!.oldPath, 'moveme.txt');
    assert.equal(by.get('img.bin')!.binary, true);
    assert.deepEqual(by.get('img.bin')!.hunks, []);
    const edit = by.get('edit.txt')!;
    assert.equal(edit.additions, 3);
    assert.equal(edit.deletions, 1);
    const added = edit.hunks.flatMap((h) => h.lines).filter((l) => l.type === 'add');
    assert.deepEqual(added.map((l) => [l.text, l.newNo]), [['agent line 5', 5], ['agent line 5b', 6], ['unstaged tail', 12]]);
    assert.deepEqual(d.stats, { files: 6, additions: 5, deletions: 2 });
    assert.equal(d.truncated, undefined);
  });

  it('sees a same-size edit that stat data cannot tell apart (racy-git safe)', async () => {
    const { repo, wt } = repoWithJob(dirs);
    // Recreate what a coarse filesystem clock does on its own: the edit lands in the same
    // clock tick as the last index write, with the same size, so only git's racy-clean rule
    // (entry mtime >= index file mtime → re-hash) can notice it.
    git(wt, 'config', 'core.trustctime', 'false');
    const file = join(wt, 'committed.txt'); // 'one\n' at the merge-base
    const when = new Date(Math.floor(Date.now() / 1000) * 1000 - 5_000);
    utimesSync(file, when, when);
    git(wt, 'update-index', '--refresh'); // the index now records mtime = when
    const indexPath = git(wt, 'rev-parse', '--path-format=absolute', '--git-path', 'index');
    utimesSync(indexPath, when, when);
    writeFileSync(file, 'two\n');
    utimesSync(file, when, when);

    const d = await computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'main', pool });
    const f = d.files.find((x) => x.path === 'committed.txt');
    assert.ok(f, 'the edit is in the diff');
    assert.deepEqual(f.hunks[0]!.lines.map((l) => `${l.type}:${l.text}`), ['del:one', 'add:two']);
  });

  it('diffs from the merge-base when the base branch moved on', async () => {
    const { repo, wt } = repoWithJob(dirs);
    const forkPoint = git(repo, 'rev-parse', 'main');
    writeFileSync(join(wt, 'agent.txt'), 'agent\n');
    writeFileSync(join(repo, 'upstream.txt'), 'someone else\n');
    writeFileSync(join(repo, 'edit.txt'), 'rewritten upstream\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'base moves on');

    const d = await computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'main', pool });
    assert.equal(d.baseCommit, forkPoint);
    assert.deepEqual(d.files.map((f) => f.path), ['agent.txt'], 'the base branch\'s new commits are not shown as reverted');
  });

  it('reports an empty diff for an untouched worktree', async () => {
    const { repo, wt } = repoWithJob(dirs);
    const d: DiffResult = await computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'main', pool });
    assert.deepEqual(d.files, []);
    assert.deepEqual(d.stats, { files: 0, additions: 0, deletions: 0 });
  });

  it('refuses an unknown base ref with a stable code', async () => {
    const { repo, wt } = repoWithJob(dirs);
    await assert.rejects(computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'no-such-branch', pool }), { code: 'UNKNOWN_BASE_REF' });
  });

  it('parses on a pool thread, and the pool loads tsx whatever the process cwd is', async () => {
    const { repo, wt } = repoWithJob(dirs);
    writeFileSync(join(wt, 'x.txt'), 'x\n');
    const cwd = process.cwd();
    process.chdir(tmpdir()); // `--import tsx` relative to the cwd would fail here
    const fresh = new DiffPool({ maxThreads: 1 });
    try {
      const out = await fresh.run({
        cwd: wt,
        env: {},
        limits: { maxFiles: 10, maxBytes: 1e6, offset: 0 },
        patchArgs: ['diff', '--no-color', 'HEAD~0', '--', '.'],
        numstatArgs: [],
      });
      assert.notEqual(out.threadId, threadId);
      assert.ok(out.threadId > 0);
      assert.ok(fresh.threadIds.includes(out.threadId));
    } finally {
      process.chdir(cwd);
      await fresh.destroy();
    }
  });
});
