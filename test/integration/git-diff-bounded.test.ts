import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { computeDiff } from '../../supervisor/git/diff.ts';
import { DiffPool } from '../../supervisor/git/diff-pool.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';

/**
 * A change far bigger than a page: 3,000 new files (a scaled-down stand-in
 * for the 10,000-file / 50 MB limits) plus one 40,000-line file.
 */
const FILES = 3_000;
const name = (i: number) => `gen/f${String(i).padStart(5, '0')}.txt`;

describe('a huge diff is bounded and marked', () => {
  let repo: string;
  let wt: string;
  let pool: DiffPool;

  before(() => {
    repo = makeRepo('cpl-bigdiff-');
    wt = join(mkdtempSync(join(tmpdir(), 'cpl-wt-')), 'job');
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/big', wt, 'main');
    mkdirSync(join(wt, 'gen'));
    for (let i = 0; i < FILES; i++) writeFileSync(join(wt, name(i)), `file ${i}\nsecond line\n`);
    writeFileSync(join(wt, 'zz-huge.txt'), Array.from({ length: 40_000 }, (_, i) => `row ${i} ${'x'.repeat(40)}`).join('\n') + '\n');
    pool = new DiffPool({ maxThreads: 2 });
  });
  after(async () => {
    await pool.destroy();
    rmSync(repo, { recursive: true, force: true });
    rmSync(join(wt, '..'), { recursive: true, force: true });
  });

  it('returns at most maxFiles files with truncated + nextOffset, and whole-change totals', async () => {
    const started = Date.now();
    const page = await computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'main', pool, limits: { maxFiles: 1_000 } });
    assert.equal(page.files.length, 1_000);
    assert.equal(page.truncated, true);
    assert.equal(page.nextOffset, 1_000);
    assert.equal(page.files[0]!.path, name(0));
    assert.equal(page.files[999]!.path, name(999));
    assert.deepEqual(page.stats, { files: FILES + 1, additions: FILES * 2 + 40_000, deletions: 0 });
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  });

  it('pages on from nextOffset to the end, where the marker disappears', async () => {
    const second = await computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'main', pool, limits: { maxFiles: 1_000, offset: 1_000 } });
    assert.equal(second.files[0]!.path, name(1_000));
    assert.equal(second.nextOffset, 2_000);
    const last = await computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'main', pool, limits: { maxFiles: 2_000, offset: 2_000 } });
    assert.equal(last.files.length, 1_001);
    assert.equal(last.files.at(-1)!.path, 'zz-huge.txt');
    assert.equal(last.truncated, undefined);
    assert.equal(last.nextOffset, undefined);
    assert.equal(last.stats.files, FILES + 1, 'a last page still reports whole-change totals');
  });

  it('stops at the byte budget', async () => {
    const page = await computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'main', pool, limits: { maxBytes: 256 * 1024 } });
    assert.equal(page.truncated, true);
    assert.ok(page.files.length > 100 && page.files.length < FILES, `${page.files.length} files`);
    assert.equal(page.nextOffset, page.files.length);
    const bytes = JSON.stringify(page.files).length;
    assert.ok(bytes < 1024 * 1024, `page is ${bytes} bytes of JSON`);
  });

  it('cuts a single file bigger than the budget, marks it, and keeps its real line counts', async () => {
    const page = await computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'main', pool, limits: { offset: FILES, maxBytes: 64 * 1024 } });
    const huge = page.files[0]!;
    assert.equal(page.files.length, 1);
    assert.equal(huge.path, 'zz-huge.txt');
    assert.equal(huge.truncated, true);
    assert.equal(page.truncated, true);
    assert.equal(page.nextOffset, FILES + 1);
    assert.ok(huge.hunks[0]!.lines.length < 40_000);
    assert.equal(huge.additions, 40_000, 'counts come from numstat, not from the cut hunk');
  });

  it('clamps nonsense limits (they come from query strings) instead of failing or ignoring them', async () => {
    const page = await computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'main', pool, limits: { maxFiles: -5, offset: Number.NaN } });
    assert.equal(page.files.length, 1);
    assert.equal(page.files[0]!.path, name(0));
    assert.equal(page.nextOffset, 1);
  });

  it('pages by default, and computes the whole change when asked for enough', async () => {
    const first = await computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'main', pool });
    assert.equal(first.files.length, 1000, 'one default page');
    assert.equal(first.truncated, true);
    assert.equal(first.nextOffset, 1000);
    const all = await computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'main', pool, limits: { maxFiles: 10_000, maxBytes: 50 * 1024 * 1024 } });
    assert.equal(all.files.length, FILES + 1);
    assert.equal(all.truncated, undefined);
  });
});
