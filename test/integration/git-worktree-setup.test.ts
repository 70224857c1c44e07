import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { copyWorktreeIncludes, runSetupCommand } from '../../supervisor/git/worktree-setup.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';

/** Gone, or a zombie (killed; this container's init may not reap orphans). */
function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
}

function setup(t: TestContext) {
  const repo = makeRepo('cpl-setup-');
  const wt = join(mkdtempSync(join(tmpdir(), 'cpl-wt-')), 'job');
  t.after(() => {
    rmSync(repo, { recursive: true, force: true });
    rmSync(join(wt, '..'), { recursive: true, force: true });
  });
  return { repo, wt };
}

describe('per-repository worktree setup', () => {
  it('copies only files that match .worktreeinclude AND are gitignored', async (t) => {
    const { repo, wt } = setup(t);
    writeFileSync(join(repo, '.gitignore'), '.env\n*.pem\nnode_modules/\nlocal/\n');
    writeFileSync(join(repo, '.worktreeinclude'), '# local secrets\n.env\n*.pem\nREADME.md\nnotes.txt\nlocal/*\n!local/skip.txt\n');
    git(repo, 'add', '.gitignore', '.worktreeinclude');
    git(repo, 'commit', '-qm', 'setup files');
    writeFileSync(join(repo, '.env'), 'TOKEN=abc\n');
    mkdirSync(join(repo, 'certs'));
    writeFileSync(join(repo, 'certs', 'dev.pem'), 'pem', { mode: 0o600 });
    writeFileSync(join(repo, 'notes.txt'), 'untracked but not ignored\n');
    mkdirSync(join(repo, 'local'));
    writeFileSync(join(repo, 'local', 'keep.txt'), 'keep\n');
    writeFileSync(join(repo, 'local', 'skip.txt'), 'skip\n');
    mkdirSync(join(repo, 'node_modules'));
    writeFileSync(join(repo, 'node_modules', 'big.js'), 'ignored but not included\n');
    writeFileSync(join(repo, 'README.md'), '# modified tracked file\n');
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/setup', wt, 'main');

    const r = await copyWorktreeIncludes({ repoPath: repo, worktreePath: wt });

    assert.deepEqual(r.copied, ['.env', 'certs/dev.pem', 'local/keep.txt']);
    assert.equal(readFileSync(join(wt, '.env'), 'utf8'), 'TOKEN=abc\n');
    assert.equal(statSync(join(wt, 'certs', 'dev.pem')).mode & 0o777, 0o600, 'permissions are kept');
    assert.equal(existsSync(join(wt, 'notes.txt')), false, 'not gitignored: not copied');
    assert.equal(existsSync(join(wt, 'node_modules')), false, 'not included: not copied');
    assert.equal(existsSync(join(wt, 'local', 'skip.txt')), false, 'a negated pattern is honoured, as in .gitignore');
    assert.equal(readFileSync(join(wt, 'README.md'), 'utf8'), '# test repo\n', 'a tracked file is never overwritten');
    assert.equal(git(wt, 'status', '--porcelain'), '', 'the copies are ignored in the worktree too');

    const again = await copyWorktreeIncludes({ repoPath: repo, worktreePath: wt });
    assert.deepEqual(again.copied, []);
    assert.deepEqual(again.skipped, ['.env', 'certs/dev.pem', 'local/keep.txt'], 'existing files are not overwritten');
  });

  it('does nothing without a .worktreeinclude', async (t) => {
    const { repo, wt } = setup(t);
    writeFileSync(join(repo, '.gitignore'), '.env\n');
    writeFileSync(join(repo, '.env'), 'x');
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/none', wt, 'main');
    assert.deepEqual(await copyWorktreeIncludes({ repoPath: repo, worktreePath: wt }), { copied: [], skipped: [] });
  });

  it('runs the setup command in the worktree, streaming its output lines', async (t) => {
    const { repo, wt } = setup(t);
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/cmd', wt, 'main');
    const seen: Array<[string, string]> = [];
    const r = await runSetupCommand({
      worktreePath: wt,
      command: 'echo one; echo two >&2; printf "three"; touch setup-ran',
      onLine: (line, stream) => seen.push([stream, line]),
    });
    assert.equal(r.ok, true);
    assert.deepEqual(seen.filter(([s]) => s === 'stdout').map(([, l]) => l), ['one', 'three']);
    assert.deepEqual(seen.filter(([s]) => s === 'stderr').map(([, l]) => l), ['two']);
    assert.ok(existsSync(join(wt, 'setup-ran')), 'ran with the worktree as cwd');
  });

  it("never gives the setup command CodePlane's own variables (the password) or the server's GIT_*", async (t) => {
    const { repo, wt } = setup(t);
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/env', wt, 'main');
    const saved = { CPL_PASSWORD: process.env['CPL_PASSWORD'], GIT_DIR: process.env['GIT_DIR'], CODEPLANE_TOKEN: process.env['CODEPLANE_TOKEN'] };
    Object.assign(process.env, { CPL_PASSWORD: 'hunter2-setup', GIT_DIR: join(repo, 'nowhere'), CODEPLANE_TOKEN: 'tok' });
    t.after(() => {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    });
    const lines: string[] = [];
    const r = await runSetupCommand({ worktreePath: wt, command: 'env; git rev-parse --show-toplevel', onLine: (l) => lines.push(l) });
    assert.equal(r.ok, true, r.tail.join('\n'));
    assert.equal(lines.some((l) => l.includes('hunter2-setup') || l.startsWith('GIT_DIR=') || l.startsWith('CODEPLANE_TOKEN=')), false, lines.join('\n'));
    assert.ok(lines.includes(realpathSync(wt)), "the command's git works on the worktree");
  });

  it('reports a failing setup command with its exit code and output tail', async (t) => {
    const { repo, wt } = setup(t);
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/fail', wt, 'main');
    const r = await runSetupCommand({ worktreePath: wt, command: 'for i in $(seq 1 100); do echo "line $i"; done; echo "npm ERR! boom" >&2; exit 3', tailLines: 5 });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.code, 'SETUP_FAILED');
    assert.equal(r.exitCode, 3);
    assert.equal(r.tail.length, 5);
    assert.equal(r.tail.at(-1), 'npm ERR! boom');
    assert.ok(r.tail.includes('line 100'));
  });

  it('times out a hanging setup command, ending its whole process group', async (t) => {
    const { repo, wt } = setup(t);
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/hang', wt, 'main');
    const started = Date.now();
    const r = await runSetupCommand({ worktreePath: wt, command: "echo starting; sh -c 'echo $$ > bg.pid; exec sleep 30' & sleep 30; echo never", timeoutMs: 500 });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.code, 'SETUP_TIMED_OUT');
    assert.deepEqual(r.tail, ['starting']);
    assert.ok(Date.now() - started < 5_000);
    const bgPid = Number(readFileSync(join(wt, 'bg.pid'), 'utf8'));
    await new Promise((res) => setTimeout(res, 100));
    assert.ok(isDead(bgPid), 'the background child was killed with its group');
  });

  it('finishes when the command exits but leaves a background process holding its output open', async (t) => {
    const { repo, wt } = setup(t);
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/bg', wt, 'main');
    const started = Date.now();
    const r = await runSetupCommand({ worktreePath: wt, command: '(sleep 3 &); echo done' });
    assert.equal(r.ok, true);
    assert.deepEqual(r.tail, ['done']);
    assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
  });
});
