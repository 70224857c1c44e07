/**
 * The git processes of a live diff start from pool threads, never from the
 * supervisor's main thread (a fork from there stalls its event loop), and
 * DiffPool.git keeps runGit's contract: exit codes that are answers, stdin,
 * the timeout, and GitCommandError with git's message.
 */
import assert from 'node:assert/strict';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { computeDiff } from '../../supervisor/git/diff.ts';
import { DiffPool } from '../../supervisor/git/diff-pool.ts';
import { GitCommandError, runGit } from '../../supervisor/git/git-exec.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';

/** Records every process the MAIN thread starts while `fn` runs (pool threads have their own module instances). */
async function mainThreadSpawns(fn: () => Promise<unknown>): Promise<string[]> {
  const cp = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const original = cp.spawn;
  const seen: string[] = [];
  cp.spawn = ((cmd: string, ...rest: unknown[]) => {
    seen.push(cmd);
    return (original as (...a: unknown[]) => unknown)(cmd, ...rest);
  }) as typeof cp.spawn;
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    cp.spawn = original;
    syncBuiltinESMExports();
  }
  return seen;
}

describe('git off the main thread', () => {
  let pool: DiffPool;
  let repo: string;
  let wt: string;
  before(() => {
    pool = new DiffPool({ maxThreads: 2 });
    repo = makeRepo('cpl-offmain-');
    writeFileSync(join(repo, 'a.txt'), 'a\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'base');
    wt = join(repo, '..', `${repo.split('/').pop()}-wt`);
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/job', wt, 'main');
  });
  after(async () => {
    await pool.destroy();
    rmSync(repo, { recursive: true, force: true });
    rmSync(wt, { recursive: true, force: true });
  });

  it('a diff starts no process from the main thread', async () => {
    writeFileSync(join(wt, 'a.txt'), 'a\nb\n');
    writeFileSync(join(wt, 'new.txt'), 'new\n');
    let files: string[] = [];
    const spawned = await mainThreadSpawns(async () => {
      files = (await computeDiff({ repoPath: repo, worktreePath: wt, baseRef: 'main', pool })).files.map((f) => f.path).sort();
    });
    assert.deepEqual(files, ['a.txt', 'new.txt'], 'the diff is complete');
    assert.deepEqual(spawned, []);
    // The probe itself can fail: runGit on the main thread is seen.
    const control = await mainThreadSpawns(() => runGit(wt, ['rev-parse', 'HEAD']));
    assert.deepEqual(control, ['git']);
  });

  it('DiffPool.git keeps the contract of runGit', async () => {
    const head = await pool.git(wt, ['rev-parse', 'HEAD']);
    assert.equal(head.code, 0);
    assert.match(head.stdout.trim(), /^[0-9a-f]{40}$/);
    assert.equal((await pool.git(wt, ['hash-object', '--stdin'], { input: 'hello\n' })).stdout.trim(), 'ce013625030ba8dba906f756967f9e9ca394464a');
    const answer = await pool.git(wt, ['merge-base', '--is-ancestor', 'HEAD', 'HEAD~0'], { okCodes: [0, 1] });
    assert.equal(answer.code, 0);
    await assert.rejects(pool.git(wt, ['rev-parse', '--verify', 'no-such-ref']), (e: unknown) => e instanceof GitCommandError && /no-such-ref|Needed a single revision/.test(e.message));
    const slow = await pool.git(wt, ['-c', 'alias.wait=!sleep 2', 'wait'], { timeoutMs: 200, okCodes: [0, 1, 128, 137] });
    assert.notEqual(slow.code, 0, 'killed at its timeout');
  });
});
