/**
 * The sandbox policy (machines/bwrap-args.ts) and the facts it is given
 * (sandbox-facts.ts, git-layout.ts), on real directories and a real git repository. The argv is
 * checked as bubblewrap reads it: options in order, a later mount covering an earlier one, so
 * "what is writable" is computed from the argv the way the kernel will see it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bwrapArgs, sandboxedCommand, type SandboxFacts } from '../../machines/bwrap-args.ts';
import { adminDirOf, gitLayoutOf, ownRefOf } from '../../workers/sandbox/git-layout.ts';
import { programDirs, sandboxFacts } from '../../workers/sandbox/sandbox-facts.ts';
import { createAgentSandbox, shQuote } from '../../workers/sandbox/agent-sandbox.ts';
import { sandboxSettingFromEnv } from '../../workers/sandbox/sandbox-setting.ts';
import type { JobSpec } from '../../machines/job-spec.ts';
import { git } from '../helpers/git-repo.ts';

type Access = 'rw' | 'ro' | 'hidden' | 'none';
/** What a path is in the sandbox the argv builds: the last mount covering it wins. */
function access(args: string[], path: string): Access {
  let result: Access = 'none';
  const covers = (mount: string): boolean => path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if (a === '--ro-bind' || a === '--bind') {
      const src = args[i + 1]!;
      const dest = args[i + 2]!;
      if (covers(dest)) result = src === '/dev/null' ? 'hidden' : a === '--bind' ? 'rw' : 'ro';
      i += 2;
    } else if (a === '--tmpfs' || a === '--dev' || a === '--proc' || a === '--chdir') {
      if (a === '--tmpfs' && covers(args[i + 1]!)) result = 'hidden';
      i += 1;
    }
  }
  return result;
}

describe('the sandbox policy (bwrap-args)', () => {
  const facts: SandboxFacts = {
    worktree: '/h/.codeplane/worktrees/r-1/j1',
    readOnlyWorktree: false,
    git: { commonDir: '/src/r/.git', objectsInfo: '/src/r/.git/objects/info', adminDir: '/src/r/.git/worktrees/j1', pinned: ['HEAD', 'commondir', 'gitdir', 'config.worktree'].map((f) => `/src/r/.git/worktrees/j1/${f}`), ownRef: { refDir: '/src/r/.git/refs/heads/codeplane/abc123', logDir: '/src/r/.git/logs/refs/heads/codeplane/abc123' } },
    writable: ['/h/.codeplane/jobs/j1/agent-home'],
    hidden: [
      { path: '/h/.codeplane', kind: 'dir' },
      { path: '/h/.ssh', kind: 'dir' },
      { path: '/h/.netrc', kind: 'file' },
    ],
    cwd: '/h/.codeplane/worktrees/r-1/j1',
  };
  const args = bwrapArgs(facts);

  it('the whole filesystem is read-only, /tmp private, the worktree and the agent home writable', () => {
    assert.equal(access(args, '/usr/bin/env'), 'ro');
    assert.equal(access(args, '/src/r/README.md'), 'ro', "the user's checkout");
    assert.equal(access(args, '/tmp/x'), 'hidden');
    assert.equal(access(args, '/var/tmp/x'), 'hidden');
    assert.equal(access(args, '/h/.codeplane/worktrees/r-1/j1/src/a.ts'), 'rw');
    assert.equal(access(args, '/h/.codeplane/jobs/j1/agent-home/projects/x.jsonl'), 'rw');
  });

  it("git: objects, the worktree's own admin dir and its branch's ref directory are writable; config, hooks, HEAD, other refs and the worktree's HEAD are not", () => {
    assert.equal(access(args, '/src/r/.git/objects/ab/cdef'), 'rw');
    assert.equal(access(args, '/src/r/.git/worktrees/j1/index'), 'rw');
    assert.equal(access(args, '/src/r/.git/worktrees/j1/HEAD'), 'ro', 'the worktree cannot be switched onto another branch');
    for (const f of ['commondir', 'gitdir', 'config.worktree']) assert.equal(access(args, `/src/r/.git/worktrees/j1/${f}`), 'ro', `${f}: the worktree cannot be pointed elsewhere nor configured`);
    assert.equal(access(args, '/src/r/.git/refs/heads/codeplane/abc123/task'), 'rw');
    assert.equal(access(args, '/src/r/.git/refs/heads/codeplane/abc123/task.lock'), 'rw');
    assert.equal(access(args, '/src/r/.git/logs/refs/heads/codeplane/abc123/task'), 'rw');
    for (const p of ['config', 'hooks/pre-commit', 'HEAD', 'packed-refs', 'refs/heads/main', 'refs/heads/codeplane/other1/x', 'worktrees/j2/HEAD', 'logs/HEAD', 'info/attributes']) {
      assert.equal(access(args, `/src/r/.git/${p}`), 'ro', p);
    }
  });

  it("secrets and CodePlane's home are hidden, yet the job's own worktree and agent home inside it are reachable", () => {
    assert.equal(access(args, '/h/.ssh/id_rsa'), 'hidden');
    assert.equal(access(args, '/h/.netrc'), 'hidden');
    assert.equal(access(args, '/h/.codeplane/codeplane.db'), 'hidden');
    assert.equal(access(args, '/h/.codeplane/jobs/j2/agent-home/.credentials.json'), 'hidden', "another job's home");
    assert.equal(access(args, '/h/.codeplane/worktrees/r-1/j2/x'), 'hidden', "another job's worktree");
  });

  it('sets the variables it is given, after the mounts and before the command', () => {
    const withEnv = bwrapArgs({ ...facts, setenv: [['TMPDIR', '/tmp'], ['XDG_CACHE_HOME', '/h/.codeplane/jobs/j1/agent-home/cache']] });
    const i = withEnv.indexOf('--setenv');
    assert.deepEqual(withEnv.slice(i, i + 6), ['--setenv', 'TMPDIR', '/tmp', '--setenv', 'XDG_CACHE_HOME', '/h/.codeplane/jobs/j1/agent-home/cache']);
    assert.equal(access(withEnv, '/h/.codeplane/jobs/j1/agent-home/cache/npm/x'), 'rw', 'the caches are writable');
  });

  it('observe_only: the worktree itself is read-only', () => {
    const ro = bwrapArgs({ ...facts, readOnlyWorktree: true });
    assert.equal(access(ro, '/h/.codeplane/worktrees/r-1/j1/src/a.ts'), 'ro');
  });

  it("without its own ref directory the job's branch is read-only like every other ref", () => {
    const { ownRef: _, ...git } = facts.git!;
    const noRef = bwrapArgs({ ...facts, git });
    assert.equal(access(noRef, '/src/r/.git/refs/heads/codeplane/abc123/task'), 'ro');
  });

  it('isolates: own pid namespace, new session, dies with its parent, network shared (the model API)', () => {
    for (const o of ['--unshare-pid', '--new-session', '--die-with-parent']) assert.ok(args.includes(o), o);
    assert.ok(!args.includes('--unshare-net') && !args.includes('--unshare-all'), 'the network stays shared');
    assert.ok(!args.includes('--share-net'));
  });

  it('the object store is writable but its info/ (alternates) is not', () => {
    assert.equal(access(args, '/src/r/.git/objects/ab/cdef'), 'rw');
    assert.equal(access(args, '/src/r/.git/objects/pack/pack-1.pack'), 'rw');
    assert.equal(access(args, '/src/r/.git/objects/info/alternates'), 'ro');
  });

  it("the agent CLI's own files under /tmp are bound back read-only, and what is hidden stays hidden inside them", () => {
    const withPrograms = bwrapArgs({ ...facts, programs: ['/tmp/ci/codeplane', '/tmp/ci/codeplane/test/fixtures'], hidden: [...facts.hidden, { path: '/tmp/ci/codeplane/.home', kind: 'dir' }] });
    assert.equal(access(withPrograms, '/tmp/ci/codeplane/test/fixtures/fake-claude'), 'ro');
    assert.equal(access(withPrograms, '/tmp/ci/codeplane/node_modules/x/cli.js'), 'ro');
    assert.equal(access(withPrograms, '/tmp/other/secret'), 'hidden', 'only those directories');
    assert.equal(access(withPrograms, '/tmp/ci/codeplane/.home/codeplane.db'), 'hidden', 'hidden wins over a program directory');
  });

  it('the command follows `--`, so a command named like an option is never read as one', () => {
    const c = sandboxedCommand('/usr/bin/bwrap', facts, '--bind', ['/', '/']);
    assert.equal(c.command, '/usr/bin/bwrap');
    assert.deepEqual(c.args.slice(c.args.indexOf('--')), ['--', '--bind', '/', '/']);
    assert.equal(c.args.indexOf('--'), args.length);
  });
});

describe('the sandbox facts, from a real repository', () => {
  let dir: string;
  let repo: string;
  let wt: string;
  let home: string;
  let cpl: string;
  const spec = (over: Partial<JobSpec> = {}): JobSpec => ({ jobId: 'j1', repoPath: repo, worktreePath: wt, branch: 'codeplane/abc123/task', baseRef: 'main', agent: 'claude', prompt: 'p', permissionMode: 'full_auto', ...over });

  before(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'cpl-sbx-facts-')));
    repo = join(dir, 'repo');
    home = join(dir, 'home');
    cpl = join(dir, 'cpl');
    wt = join(cpl, 'worktrees', 'repo-1', 'j1');
    mkdirSync(repo);
    mkdirSync(join(home, '.ssh'), { recursive: true });
    mkdirSync(join(home, '.claude'), { recursive: true });
    mkdirSync(join(home, '.copilot'), { recursive: true });
    writeFileSync(join(home, '.netrc'), 'machine x password y\n');
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'a'), 'a\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'init');
    mkdirSync(join(cpl, 'worktrees', 'repo-1'), { recursive: true });
    git(repo, 'worktree', 'add', '-q', '-b', 'codeplane/abc123/task', wt, 'main');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lays out git from the repository path: common dir, the admin dir named after the worktree, the own ref directory', () => {
    const layout = gitLayoutOf(repo, wt, 'codeplane/abc123/task');
    const admin = join(repo, '.git', 'worktrees', 'j1');
    assert.deepEqual(layout, {
      commonDir: join(repo, '.git'),
      adminDir: admin,
      pinned: ['HEAD', 'commondir', 'gitdir', 'config.worktree'].map((f) => join(admin, f)),
      objectsInfo: join(repo, '.git', 'objects', 'info'),
      ownRef: { refDir: join(repo, '.git', 'refs', 'heads', 'codeplane', 'abc123'), logDir: join(repo, '.git', 'logs', 'refs', 'heads', 'codeplane', 'abc123') },
    });
  });

  it("a branch the user named shares its directory with the user's refs: no own ref directory", () => {
    assert.equal(ownRefOf(join(repo, '.git'), 'feature'), undefined);
    assert.equal(ownRefOf(join(repo, '.git'), 'feature/x'), undefined);
    assert.equal(ownRefOf(join(repo, '.git'), 'codeplane/x'), undefined, 'refs/heads/codeplane holds every job');
    assert.equal(ownRefOf(join(repo, '.git'), 'codeplane/../main/x'), undefined);
  });

  it('a directory that holds another ref (loose or packed) is not the job\'s own', () => {
    git(repo, 'branch', 'codeplane/abc123/other', 'main');
    assert.equal(ownRefOf(join(repo, '.git'), 'codeplane/abc123/task'), undefined, 'a loose sibling');
    git(repo, 'pack-refs', '--all');
    assert.equal(ownRefOf(join(repo, '.git'), 'codeplane/abc123/task'), undefined, 'a packed sibling');
    git(repo, 'branch', '-D', 'codeplane/abc123/other');
    assert.ok(ownRefOf(join(repo, '.git'), 'codeplane/abc123/task'), 'alone again (the branch itself packed): its own');
  });

  it("the admin dir is only the one named after the worktree, and only when its gitdir names it (an agent's rewrite of another admin dir cannot match)", () => {
    assert.equal(adminDirOf(join(repo, '.git'), wt), join(repo, '.git', 'worktrees', 'j1'));
    const gitdir = join(repo, '.git', 'worktrees', 'j1', 'gitdir');
    writeFileSync(gitdir, `${join(dir, 'elsewhere', '.git')}\n`);
    assert.equal(adminDirOf(join(repo, '.git'), wt), undefined);
    assert.equal(gitLayoutOf(repo, wt, 'codeplane/abc123/task'), undefined, 'no layout: git gets nothing writable');
    writeFileSync(gitdir, `${join(wt, '.git')}\n`);
  });

  it('a worktree .git file the agent rewrote to point at the user\'s repository changes nothing: the layout starts from the repository path', () => {
    writeFileSync(join(wt, '.git'), `gitdir: ${join(repo, '.git')}\n`);
    try {
      assert.equal(gitLayoutOf(repo, wt, 'codeplane/abc123/task')?.adminDir, join(repo, '.git', 'worktrees', 'j1'));
    } finally {
      writeFileSync(join(wt, '.git'), `gitdir: ${join(repo, '.git', 'worktrees', 'j1')}\n`);
    }
  });

  it("hides what exists: CodePlane's home, secrets, the other agent's home and the own one unless the user's config is loaded", () => {
    const f = sandboxFacts({ spec: spec(), codeplaneHome: cpl, worktreesRoot: join(cpl, 'worktrees'), userHome: home, agentHome: join(cpl, 'jobs', 'j1', 'agent-home'), userConfig: false });
    const hidden = f.hidden.map((h) => `${h.kind}:${h.path}`);
    for (const h of [`dir:${cpl}`, `dir:${join(home, '.ssh')}`, `file:${join(home, '.netrc')}`, `dir:${join(home, '.claude')}`, `dir:${join(home, '.copilot')}`]) assert.ok(hidden.includes(h), h);
    assert.ok(!hidden.some((h) => h.endsWith('/.aws')), 'a secret directory that does not exist is not mounted over');
    assert.deepEqual(f.writable, [join(cpl, 'jobs', 'j1', 'agent-home')]);
    assert.deepEqual(Object.fromEntries(f.setenv ?? []), { TMPDIR: '/tmp', XDG_CACHE_HOME: join(cpl, 'jobs', 'j1', 'agent-home', 'cache'), npm_config_cache: join(cpl, 'jobs', 'j1', 'agent-home', 'cache', 'npm') });
    assert.equal(f.readOnlyWorktree, false);
    assert.equal(f.worktree, wt);

    const own = sandboxFacts({ spec: spec(), codeplaneHome: cpl, worktreesRoot: join(cpl, 'worktrees'), userHome: home, agentHome: join(cpl, 'jobs', 'j1', 'agent-home'), userConfig: true });
    assert.ok(!own.hidden.some((h) => h.path === join(home, '.claude')), "the user's own Claude config, loaded: not hidden");
    assert.ok(own.writable.includes(join(home, '.claude')), '… and writable (its sessions)');
    assert.ok(own.hidden.some((h) => h.path === join(home, '.copilot')), "the other agent's stays hidden");

    const freshHome = join(dir, 'fresh-home');
    mkdirSync(freshHome);
    const fresh = sandboxFacts({ spec: spec(), codeplaneHome: cpl, worktreesRoot: join(cpl, 'worktrees'), userHome: freshHome, agentHome: join(cpl, 'jobs', 'j1', 'agent-home'), userConfig: true });
    assert.ok(fresh.writable.includes(join(freshHome, '.claude')), "loaded but not there yet: ~/.claude is made (the CLI cannot in the read-only home) and writable");

    mkdirSync(join(dir, 'claude-elsewhere'), { recursive: true });
    const elsewhere = { spec: spec(), codeplaneHome: cpl, worktreesRoot: join(cpl, 'worktrees'), userHome: home, agentHome: join(cpl, 'jobs', 'j1', 'agent-home'), configuredAgentDir: join(dir, 'claude-elsewhere') };
    assert.ok(sandboxFacts({ ...elsewhere, userConfig: false }).hidden.some((h) => h.path === join(dir, 'claude-elsewhere')), 'a CLAUDE_CONFIG_DIR elsewhere is hidden too');
    assert.ok(sandboxFacts({ ...elsewhere, userConfig: true }).writable.includes(join(dir, 'claude-elsewhere')), '… and writable when loaded');

    const observe = sandboxFacts({ spec: spec({ permissionMode: 'observe_only' }), codeplaneHome: cpl, worktreesRoot: join(cpl, 'worktrees'), userHome: home, agentHome: join(cpl, 'jobs', 'j1', 'agent-home'), userConfig: false });
    assert.equal(observe.readOnlyWorktree, true);
  });
});

describe('sandbox setting and launcher quoting', () => {
  it('fails closed: only an explicit "off" turns the sandbox off', () => {
    assert.deepEqual(sandboxSettingFromEnv({}), { mode: 'on', bwrap: 'bwrap' });
    assert.deepEqual(sandboxSettingFromEnv({ CODEPLANE_SANDBOX: 'OFF' }), { mode: 'off' });
    assert.deepEqual(sandboxSettingFromEnv({ CODEPLANE_SANDBOX: 'no', CODEPLANE_BWRAP: '/opt/bwrap' }), { mode: 'on', bwrap: '/opt/bwrap' });
  });

  it('quotes every launcher word for sh, quotes and all', () => {
    assert.equal(shQuote("a b'c$(x)"), `'a b'\\''c$(x)'`);
  });

  it("the Copilot launcher hands bubblewrap every word intact, a hostile worktree path and the SDK's arguments included", () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), "cpl-sbx-launch-it's $(touch pwned)\n")));
    try {
      // A stand-in for bubblewrap that prints the words it was given, NUL-separated.
      const fake = join(dir, 'bwrap');
      writeFileSync(fake, '#!/bin/sh\nprintf "%s\\0" "$@"\n', { mode: 0o755 });
      const wt = join(dir, "wt '$(touch pwned)' `id`");
      mkdirSync(wt);
      const sandbox = createAgentSandbox(fake, { spec: { jobId: 'j1', repoPath: join(dir, 'no-repo'), worktreePath: wt, branch: 'codeplane/abc123/x', baseRef: 'main', agent: 'copilot', prompt: 'p', permissionMode: 'full_auto' }, codeplaneHome: join(dir, 'cpl'), worktreesRoot: join(dir, 'cpl', 'worktrees'), userHome: join(dir, 'home'), agentHome: join(dir, 'cpl', 'jobs', 'j1', 'agent-home'), userConfig: false }, join(dir, 'cpl', 'jobs', 'j1', 'sandbox'));
      const launcher = sandbox.writeLauncher(sandbox.launcherPath('copilot-runtime'), ['/opt/copilot runtime', '--flag=$HOME']);
      const words = execFileSync(launcher, ['--stdio', "a'b", '$(touch pwned)'], { encoding: 'utf8' }).split('\0').slice(0, -1);
      assert.deepEqual(words.slice(words.indexOf('--')), ['--', '/opt/copilot runtime', '--flag=$HOME', '--stdio', "a'b", '$(touch pwned)']);
      assert.ok(words.includes(wt), 'the worktree path arrives whole');
      assert.equal(existsSync(join(dir, 'pwned')), false);
      assert.equal(existsSync('pwned'), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the agent CLI installed under a private directory (a clone or package under /tmp)', () => {
  let pkg: string;
  before(() => {
    pkg = realpathSync(mkdtempSync(join('/tmp', 'cpl-sbx-program-')));
    mkdirSync(join(pkg, 'bin'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), '{}');
    writeFileSync(join(pkg, 'data.txt'), 'the CLI reads its own files\n');
    writeFileSync(join(pkg, 'bin', 'tool'), '#!/bin/sh\ncat "$(dirname "$0")/../data.txt"\n', { mode: 0o755 });
  });
  after(() => rmSync(pkg, { recursive: true, force: true }));

  it('finds the directory of each absolute path under /tmp and its package root, parents first; nothing for paths elsewhere', () => {
    assert.deepEqual(programDirs([join(pkg, 'bin', 'tool'), '--flag', 'relative/x', '/usr/bin/env', join(pkg, 'missing')]), [pkg, join(pkg, 'bin')]);
    assert.deepEqual(programDirs(['/usr/bin/env', process.execPath]), []);
  });

  it('runs for real inside bubblewrap: the CLI starts and reads its files, a sibling under /tmp stays hidden', { skip: !existsSync('/usr/bin/bwrap') && 'bubblewrap is not installed' }, () => {
    const sibling = realpathSync(mkdtempSync(join('/tmp', 'cpl-sbx-sibling-')));
    try {
      const tool = join(pkg, 'bin', 'tool');
      const f: SandboxFacts = { worktree: pkg, readOnlyWorktree: true, writable: [], hidden: [], programs: programDirs([tool]), cwd: pkg };
      const run = sandboxedCommand('/usr/bin/bwrap', f, tool, []);
      assert.equal(execFileSync(run.command, run.args, { encoding: 'utf8' }), 'the CLI reads its own files\n');
      const peek = sandboxedCommand('/usr/bin/bwrap', f, '/bin/sh', ['-c', `ls ${sibling} 2>&1 || true`]);
      assert.match(execFileSync(peek.command, peek.args, { encoding: 'utf8' }), /No such file/);
      const without = sandboxedCommand('/usr/bin/bwrap', { ...f, worktree: '/usr', cwd: '/', programs: [] }, tool, []);
      assert.throws(() => execFileSync(without.command, without.args, { stdio: 'pipe' }), 'without the binding the CLI is not there (the failure this prevents)');
    } finally {
      rmSync(sibling, { recursive: true, force: true });
    }
  });
});
