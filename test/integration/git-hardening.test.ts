/**
 * The server's git runs no program a repository names (docs/security.md "Server-side git"),
 * in real repositories: a husky-style `core.hooksPath=.githooks` with every hook, a
 * repository-level fsmonitor, an external diff, filter/textconv/merge drivers chosen by
 * `.gitattributes`, an ssh command, and a nested repository with its own fsmonitor. Each
 * server operation (worktree creation, live diff, local-changes check, commit of the agent's
 * work, merge into a checked-out and a not-checked-out base, push and PR through gh, discard,
 * start-up hygiene, repository inspection) runs here, and the log of programs stays empty.
 * Each attack has a control: the same git, unhardened, runs the program.
 * The same through the real server, with a fake agent writing the hooks: git-hardening-e2e.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commitPendingChanges } from '../../supervisor/git/commit-changes.ts';
import { computeDiff } from '../../supervisor/git/diff.ts';
import { DiffPool } from '../../supervisor/git/diff-pool.ts';
import { discardJob } from '../../supervisor/git/discard.ts';
import { reconcileWorktrees } from '../../supervisor/git/hygiene.ts';
import { localChanges } from '../../supervisor/git/local-changes.ts';
import { mergeJob } from '../../supervisor/git/merge.ts';
import { createPullRequest } from '../../supervisor/git/pull-request.ts';
import { inspectRepo } from '../../supervisor/git/repo-info.ts';
import { copyWorktreeIncludes } from '../../supervisor/git/worktree-setup.ts';
import { addWorktree, worktreePathFor } from '../../supervisor/git/worktrees.ts';
import { HOOKS, hostileRepo, type HostileRepo } from '../helpers/hostile-repo.ts';
import { ROOT } from '../helpers/server-process.ts';

const FAKE_GH = join(ROOT, 'test/fixtures/fake-gh');

describe('server-side git runs nothing the repository names', () => {
  let h: HostileRepo;
  let root: string;
  let pool: DiffPool;
  const jobs: string[] = [];
  before(() => {
    h = hostileRepo();
    root = realpathSync(mkdtempSync(join(tmpdir(), 'cpl-hostile-wt-')));
    pool = new DiffPool({ maxThreads: 1 });
  });
  after(async () => {
    await pool.destroy();
    rmSync(join(h.repo, '..'), { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });

  /** A job worktree made by the server's own worktree creation, on `codeplane/<id>`. */
  const newJob = async (id: string) => {
    const wt = worktreePathFor(root, h.repo, basename(h.repo), id);
    const base = h.userGit(h.repo, 'rev-parse', 'main');
    await addWorktree(h.repo, wt, `codeplane/${id}`, base);
    jobs.push(wt);
    return { wt, branch: `codeplane/${id}` };
  };
  /** What an agent does in its worktree: edit tracked files, add one, rewrite a hook. */
  const agentWork = (wt: string, tag: string) => {
    writeFileSync(join(wt, 'shared.txt'), `one\ntwo\nthree\nfour ${tag}\nfive\n`);
    writeFileSync(join(wt, 'blob.dat'), `data ${tag}\n`);
    writeFileSync(join(wt, `${tag}.txt`), `${tag}\n`);
    writeFileSync(join(wt, '.githooks', 'pre-commit'), `#!/bin/sh\n# rewritten by the agent (${tag})\n[ -n "$MARK_SKIP" ] || echo hook:pre-commit >> '${h.log}'\n`);
    chmodSync(join(wt, '.githooks', 'pre-commit'), 0o755);
  };
  const nothingRan = (step: string) => assert.deepEqual(h.ran(), [], `${step}: programs the repository names ran`);

  it('creates a worktree, diffs, checks local changes and inspects the repository without running anything', async () => {
    writeFileSync(join(h.repo, '.worktreeinclude'), '.env\n');
    writeFileSync(join(h.repo, '.gitignore'), '.env\n.worktreeinclude\n');
    writeFileSync(join(h.repo, '.env'), 'SECRET=1\n');
    const { wt } = await newJob('diff');
    nothingRan('worktree add');
    assert.deepEqual((await copyWorktreeIncludes({ repoPath: h.repo, worktreePath: wt })).copied, ['.env']);
    agentWork(wt, 'diff');
    const diff = await computeDiff({ repoPath: h.repo, worktreePath: wt, baseRef: 'main', pool });
    nothingRan('live diff');
    assert.deepEqual(diff.files.map((f) => f.path).sort(), ['.env', '.githooks/pre-commit', 'blob.dat', 'diff.txt', 'shared.txt']);
    // The diff is git's own, not the textconv's or the external diff's.
    const shared = diff.files.find((f) => f.path === 'shared.txt')!;
    assert.deepEqual(shared.hunks.flatMap((x) => x.lines.filter((l) => l.type !== 'context').map((l) => `${l.type}:${l.text}`)), ['del:four', 'add:four diff']);
    await localChanges(h.repo);
    await localChanges(wt);
    nothingRan('status');
    assert.equal((await inspectRepo(wt)).path, wt);
    nothingRan('inspect');
  });

  it('commits the agent work and merges it into the base, not checked out, with a three-way merge and no driver', async () => {
    const { wt, branch } = await newJob('merge-ref');
    agentWork(wt, 'ref');
    // The user moves main on meanwhile, touching the same file: the merge needs a content merge
    // (the repository's merge driver for *.txt), and the base is not checked out.
    h.userGit(h.repo, 'checkout', '-q', '--detach');
    writeFileSync(join(h.repo, 'shared.txt'), 'one user\ntwo\nthree\nfour\nfive\n');
    h.userGit(h.repo, 'commit', '-qam', 'user edit', '--no-verify');
    h.userGit(h.repo, 'update-ref', 'refs/heads/main', 'HEAD');
    const r = await mergeJob({ repoPath: h.repo, worktreePath: wt, branch, baseRef: 'main', strategy: 'merge', jobTitle: 'ref' });
    nothingRan('commit + merge-tree + update-ref');
    assert.equal(r.updated, 'ref');
    assert.ok(r.jobCommit, 'the agent work was committed');
    assert.equal(h.userGit(h.repo, 'show', 'main:shared.txt'), 'one user\ntwo\nthree\nfour ref\nfive');
    assert.equal(h.userGit(h.repo, 'show', 'main:blob.dat'), 'data ref', 'no clean filter changed the content');
    h.userGit(h.repo, 'checkout', '-q', 'main');
    h.userGit(h.repo, 'checkout', '-q', '--', '.');
  });

  it('fast-forwards the checked-out base without running post-merge, post-checkout or a smudge filter', async () => {
    const { wt, branch } = await newJob('merge-co');
    agentWork(wt, 'co');
    // A touched, unchanged file: git's status and checkout then refresh the index (post-index-change).
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(h.repo, 'README.md'), past, past);
    const r = await mergeJob({ repoPath: h.repo, worktreePath: wt, branch, baseRef: 'main', strategy: 'ff-only', jobTitle: 'co' });
    nothingRan('fast-forward of the user checkout');
    assert.equal(r.updated, 'checkout');
    assert.equal(readFileSync(join(h.repo, 'shared.txt'), 'utf8'), 'one\ntwo\nthree\nfour co\nfive\n', 'no smudge filter changed the content');
    assert.match(readFileSync(join(h.repo, '.githooks', 'pre-commit'), 'utf8'), /rewritten by the agent/, "the agent's hook is now in the user's checkout");
  });

  it('pushes and opens a PR through gh (whose own git is hardened too), then discards and cleans up without running anything', async () => {
    const remote = join(root, 'remote.git');
    h.userGit(root, 'init', '-q', '--bare', remote);
    h.userGit(h.repo, 'remote', 'add', 'origin', remote);
    const ghLog = join(root, 'gh.log');
    const { wt, branch } = await newJob('pr');
    agentWork(wt, 'pr');
    const pr = await createPullRequest({ repoPath: h.repo, worktreePath: wt, branch, baseRef: 'main', title: 'pr', prompt: 'p', ghPath: FAKE_GH, env: { FAKE_GH_LOG: ghLog } });
    nothingRan('commit + push + gh');
    assert.equal(pr.prUrl, 'https://github.com/o/r/pull/1');
    assert.equal(h.userGit(remote, 'rev-parse', branch), pr.commit);
    assert.match(readFileSync(ghLog, 'utf8'), /"pr","create"/);

    const gone = await newJob('gone');
    agentWork(gone.wt, 'gone');
    await discardJob({ repoPath: h.repo, worktreePath: gone.wt, branch: gone.branch, baseRef: 'main', worktreesRoot: root });
    nothingRan('discard');
    const orphan = await newJob('orphan');
    agentWork(orphan.wt, 'orphan');
    const quarantineRoot = join(mkdtempSync(join(tmpdir(), 'cpl-hardening-home-')), 'quarantine');
    const report = await reconcileWorktrees({ repoPath: h.repo, worktreesRoot: root, knownWorktreePaths: jobs.filter((p) => p !== orphan.wt && p !== gone.wt), quarantineRoot });
    nothingRan('hygiene');
    assert.ok(report.quarantined.some((q) => q.from === orphan.wt), JSON.stringify(report));
  });

  it('pushes over ssh with plain ssh, never the repository-configured ssh command', async () => {
    h.userGit(h.repo, 'remote', 'add', 'sshremote', 'git@host.invalid:o/r.git');
    const { wt, branch } = await newJob('ssh');
    await assert.rejects(
      createPullRequest({ repoPath: h.repo, worktreePath: wt, branch, baseRef: 'main', title: 's', prompt: 'p', remote: 'sshremote', ghPath: FAKE_GH }),
      { code: 'PUSH_FAILED' },
    );
    nothingRan('push over ssh');
  });

  it("never enters a nested repository: its fsmonitor does not run for the server's status, diff or commit", async () => {
    const { wt } = await newJob('nested');
    const sub = join(wt, 'sub');
    mkdirSync(sub);
    h.userGit(sub, 'init', '-q', '-b', 'main');
    writeFileSync(join(sub, 's.md'), 's\n');
    h.userGit(sub, 'add', '-A');
    h.userGit(sub, 'commit', '-qm', 's');
    h.userGit(sub, 'config', 'core.fsmonitor', h.program('nested-fsmonitor', 'exit 1'));
    h.userGit(sub, 'config', 'core.hooksPath', join(h.bin, 'none'));
    h.userGit(wt, 'add', 'sub'); // the agent registered it as a gitlink
    writeFileSync(join(sub, 's.md'), 'dirty\n');
    const diff = await computeDiff({ repoPath: h.repo, worktreePath: wt, baseRef: 'main', pool });
    assert.ok(diff.files.some((f) => f.path === 'sub'), 'the gitlink still shows in the diff (its commit, not its work tree)');
    await localChanges(wt);
    await commitPendingChanges(h.repo, wt, 'nested');
    nothingRan('status/diff/commit with a nested repository');
    assert.equal(h.userGit(wt, 'ls-tree', 'HEAD', 'sub').split(/\s/)[1], 'commit', 'the gitlink was committed');
  });

  /** A repository of the agent's making whose configuration points git at a directory the agent cannot read (in the sandbox). */
  const agentRepository = (name: string) => {
    const secret = join(root, `${name}-secret`);
    mkdirSync(secret);
    writeFileSync(join(secret, 'id_rsa'), '-----BEGIN PRIVATE KEY----- agent-must-not-see\n');
    const evil = join(root, `${name}-evil`);
    h.userGit(root, 'init', '-q', evil);
    h.userGit(evil, 'config', 'core.worktree', secret);
    h.userGit(evil, 'config', 'core.hooksPath', '.githooks');
    h.userGit(evil, 'config', 'core.fsmonitor', h.program('agent-fsmonitor', 'exit 1'));
    return { evil, secretSeenIn: (repo: string) => h.userGit(repo, 'cat-file', '--batch-all-objects', '--batch').includes('agent-must-not-see') };
  };

  it("finds the repository through the user's checkout, never through the worktree's .git file", async () => {
    const { wt } = await newJob('redirect');
    agentWork(wt, 'redirect');
    const { evil, secretSeenIn } = agentRepository('redirect');
    // The server's git would read the secret directory as the work tree, and the live diff's
    // `git add` would copy it into objects the agent can read.
    const dotGit = readFileSync(join(wt, '.git'), 'utf8');
    writeFileSync(join(wt, '.git'), `gitdir: ${join(evil, '.git')}\n`);
    try {
      const diff = await computeDiff({ repoPath: h.repo, worktreePath: wt, baseRef: 'main', pool });
      assert.ok(diff.files.some((f) => f.path === 'redirect.txt'), JSON.stringify(diff.files.map((f) => f.path)));
      assert.equal(diff.files.some((f) => f.path.includes('id_rsa')), false);
      const c = await commitPendingChanges(h.repo, wt, 'redirect');
      assert.ok(c.committed);
      assert.equal(h.userGit(h.repo, 'cat-file', '-t', c.head), 'commit', "the commit is in the user's repository");
      assert.match(h.userGit(h.repo, 'ls-tree', '--name-only', c.head), /redirect\.txt/);
      assert.equal(secretSeenIn(evil) || secretSeenIn(h.repo), false, 'no object holds the secret');
      nothingRan('diff and commit of a redirected worktree');
      // Control: plain git follows the file into the agent's repository, reads the secret, runs its fsmonitor.
      assert.match(h.plainGit(wt, 'status', '--porcelain', '--untracked-files=all'), /id_rsa/);
      assert.ok(h.ran().includes('agent-fsmonitor'), h.ran().join(', '));
      rmSync(h.log, { force: true });
    } finally {
      writeFileSync(join(wt, '.git'), dotGit);
    }
  });

  it("reads the configuration of the user's repository even when the registration's commondir names the agent's", async () => {
    const { wt } = await newJob('commondir');
    agentWork(wt, 'commondir');
    const adminDir = h.userGit(wt, 'rev-parse', '--path-format=absolute', '--git-dir');
    const { evil, secretSeenIn } = agentRepository('commondir');
    const commondir = readFileSync(join(adminDir, 'commondir'), 'utf8');
    writeFileSync(join(adminDir, 'commondir'), `${join(evil, '.git')}\n`);
    try {
      // git 2.39 still reads refs through the file (the diff may not find "main" there): a
      // failed or confused diff of the agent's own job, but never the agent's configuration.
      const diff = await computeDiff({ repoPath: h.repo, worktreePath: wt, baseRef: 'main', pool }).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
      if (!(diff instanceof Error)) assert.equal(diff.files.some((f) => f.path.includes('id_rsa')), false);
      assert.equal(secretSeenIn(evil) || secretSeenIn(h.repo), false, 'no object holds the secret');
      nothingRan('diff of a worktree whose commondir was rewritten');
      // Control: plain git with the registration as its git directory reads the agent's configuration.
      const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], GIT_DIR: adminDir };
      execFileSync('git', ['status', '--porcelain'], { cwd: wt, encoding: 'utf8', env, stdio: 'ignore' });
      assert.ok(h.ran().includes('agent-fsmonitor'), h.ran().join(', '));
      rmSync(h.log, { force: true });
    } finally {
      writeFileSync(join(adminDir, 'commondir'), commondir);
    }
  });

  describe('controls: the same git, unhardened, runs each program', () => {
    const expectRan = (name: string, fn: () => void) => {
      rmSync(h.log, { force: true });
      try {
        fn();
      } catch {
        /* a failing program may fail the command: it ran all the same */
      }
      assert.ok(h.ran().includes(name), `${name} did not run: the fixture does not test it (ran: ${h.ran().join(', ')})`);
    };
    /** Plain git without the process filter, which fails every file it sees (a racy blob.dat under load would stop the command early). */
    const ctl = (cwd: string, ...args: string[]) => h.plainGit(cwd, '-c', 'filter.p.process=', ...args);
    let wt: string;
    before(async () => {
      wt = (await newJob('control')).wt;
      agentWork(wt, 'control');
    });
    after(() => rmSync(h.log, { force: true }));
    it('fsmonitor (status)', () => expectRan('fsmonitor', () => ctl(wt, 'status', '--porcelain')));
    it('post-index-change and the clean filters (add)', () => {
      expectRan('filter-process', () => h.plainGit(wt, 'add', '--', 'blob.dat'));
      expectRan('hook:post-index-change', () => ctl(wt, 'add', '--', 'shared.txt'));
      expectRan('filter-clean', () => {
        writeFileSync(join(wt, 'shared.txt'), 'again\n');
        ctl(wt, 'add', '--', 'shared.txt');
      });
    });
    it("the agent's pre-commit (commit)", () => expectRan('hook:pre-commit', () => ctl(wt, 'commit', '-qm', 'c')));
    it('the external diff, the diff driver command and the textconv (diff)', () => {
      writeFileSync(join(wt, 'other.md'), 'other\n');
      h.userGit(wt, 'add', 'other.md');
      h.userGit(wt, 'commit', '-qm', 'other', '--no-verify');
      expectRan('diff-external', () => ctl(wt, 'diff', 'main', 'HEAD', '--', 'other.md'));
      expectRan('diff-command', () => ctl(wt, 'diff', 'main', 'HEAD', '--', 'shared.txt'));
      expectRan('textconv', () => ctl(wt, 'diff', '--no-ext-diff', 'main', 'HEAD', '--', 'shared.txt'));
    });
    it('the merge driver (merge-tree)', () => {
      // Both sides change shared.txt since main: a content merge, for which git calls the driver.
      const ours = h.userGit(wt, 'rev-parse', 'HEAD');
      h.userGit(wt, 'checkout', '-q', '-b', 'control-theirs', 'main');
      writeFileSync(join(wt, 'shared.txt'), 'one theirs\ntwo\nthree\nfour co\nfive\n');
      h.userGit(wt, 'commit', '-qam', 'theirs', '--no-verify');
      expectRan('merge-driver', () => ctl(wt, 'merge-tree', '--write-tree', ours, 'HEAD'));
    });
    it('the smudge filter and post-checkout (checkout)', () => {
      rmSync(join(wt, 'shared.txt'));
      expectRan('filter-smudge', () => ctl(wt, 'checkout', '--', 'shared.txt'));
      // The process filter off: it fails every file, and a racy blob.dat would stop the checkout before its hook.
      expectRan('hook:post-checkout', () => ctl(wt, 'checkout', '-q', '-b', 'control-2'));
    });
    it('the ssh command (push over ssh)', () => expectRan('ssh-command', () => ctl(h.repo, 'push', 'sshremote', 'main')));
    it("the nested repository's fsmonitor (status)", () =>
      // The process filter off: it fails every file, and status would stop before the submodule.
      expectRan('nested-fsmonitor', () => ctl(jobs.find((p) => p.endsWith('nested'))!, 'status', '--porcelain')));
    it('every hook of the fixture is executable and logs', () => {
      for (const hook of HOOKS) expectRan(`hook:${hook}`, () => ctl(h.repo, 'hook', 'run', hook));
    });
  });
});
