/**
 * machines/git-invocation.ts: the one function that builds the argv and environment of every
 * git process the server starts. The behaviour tests (test/integration/git-hardening.test.ts)
 * show hooks, fsmonitor and drivers not running in real repositories; these pin each layer on
 * its own, since one layer hides the absence of another in behaviour (a hooks path of
 * /dev/null makes --no-verify unobservable, --no-ext-diff makes diff.external unobservable).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BUILTIN_MERGE_DRIVER,
  driverOverrides,
  gitInvocation,
  needsDriverScan,
  parseConfigNames,
  subcommandAt,
  toolEnvForGit,
} from '../../machines/git-invocation.ts';

/** The `-c` values of an argv, in order. */
const configOf = (args: readonly string[]): Map<string, string> => {
  const m = new Map<string, string>();
  for (let i = 0; i < args.length; i++)
    if (args[i] === '-c') {
      const kv = args[++i]!;
      const eq = kv.indexOf('=');
      m.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
  return m;
};
const inherited = {
  PATH: '/usr/bin',
  HOME: '/home/u',
  GIT_DIR: '/elsewhere/.git',
  GIT_WORK_TREE: '/elsewhere',
  GIT_CONFIG_PARAMETERS: "'core.hookspath'='/tmp/evil'",
  GIT_CONFIG_COUNT: '1',
  GIT_CONFIG_KEY_0: 'core.fsmonitor',
  GIT_CONFIG_VALUE_0: '/tmp/evil',
  GIT_EXTERNAL_DIFF: '/tmp/evil',
  GIT_SSH_COMMAND: '/tmp/evil',
  GIT_ASKPASS: '/tmp/evil',
  git_exec_path: '/tmp/evil',
  SSH_ASKPASS: '/tmp/evil',
  CPL_PASSWORD: 'hunter2',
  CODEPLANE_HOME: '/home/u/.codeplane',
  UNSET: undefined,
};

describe('gitInvocation: configuration on every command', () => {
  const { args } = gitInvocation(['rev-parse', 'HEAD'], { inherited });
  const c = configOf(args);
  const cases: Array<[string, string]> = [
    ['core.hooksPath', '/dev/null'],
    ['core.fsmonitor', 'false'],
    ['core.sshCommand', 'ssh -o BatchMode=yes'],
    ['diff.external', ''],
    ['protocol.ext.allow', 'never'],
    ['submodule.recurse', 'false'],
    ['commit.gpgSign', 'false'],
    ['merge.autoStash', 'false'],
    ['core.editor', 'true'],
    ['core.pager', 'cat'],
    ['core.askPass', ''],
    ['credential.helper', ''],
    ['gc.auto', '0'],
  ];
  for (const [k, v] of cases) it(`${k}=${v}`, () => assert.equal(c.get(k), v));
  it('the command follows the configuration, unchanged', () => assert.deepEqual(args.slice(-2), ['rev-parse', 'HEAD']));
  it('push keeps the credential helpers (it may need a credential)', () => {
    const push = configOf(gitInvocation(['push', 'origin', 'x'], { inherited }).args);
    assert.equal(push.has('credential.helper'), false);
    assert.equal(push.get('core.hooksPath'), '/dev/null');
  });
});

describe('gitInvocation: per-command flags', () => {
  const after = (args: string[]) => {
    const out = gitInvocation(args, { inherited }).args;
    return out.slice(subcommandAt(out));
  };
  it('commit gets --no-verify, also behind -c identity options', () => {
    assert.deepEqual(after(['-c', 'user.name=x', 'commit', '-m', 'm']), ['commit', '--no-verify', '-m', 'm']);
  });
  it('merge gets --no-verify', () => assert.deepEqual(after(['merge', '--ff-only', 'abc']), ['merge', '--no-verify', '--ff-only', 'abc']));
  it('push gets --no-verify and the stock receive-pack program', () =>
    assert.deepEqual(after(['push', 'origin', 'a:b']), ['push', '--no-verify', '--receive-pack=git-receive-pack', 'origin', 'a:b']));
  it('diff gets --no-ext-diff, --no-textconv and submodules not entered', () =>
    assert.deepEqual(after(['diff', '--cached', 'x', '--']), ['diff', '--no-ext-diff', '--no-textconv', '--ignore-submodules=dirty', '--cached', 'x', '--']));
  it("a diff's own --ignore-submodules choice is kept", () =>
    assert.deepEqual(after(['diff', '--ignore-submodules=all']), ['diff', '--no-ext-diff', '--no-textconv', '--ignore-submodules=all']));
  it('status does not enter submodules', () => assert.deepEqual(after(['status', '-z']), ['status', '--ignore-submodules=dirty', '-z']));
  it('a pathspec that looks like a subcommand is left alone', () => assert.deepEqual(after(['add', '-A', '--', 'commit']), ['add', '-A', '--', 'commit']));
  it('no subcommand (--version): only the configuration is added', () => assert.deepEqual(gitInvocation(['--version'], { inherited }).args.slice(-1), ['--version']));
});

describe('gitInvocation: environment', () => {
  const { env } = gitInvocation(['status'], { inherited, env: { GIT_INDEX_FILE: '/tmp/idx' } });
  it('no inherited GIT_* variable reaches git (any case)', () => {
    for (const k of Object.keys(env)) if (k.toUpperCase().startsWith('GIT_')) assert.ok(['GIT_INDEX_FILE', 'GIT_TERMINAL_PROMPT', 'GIT_EDITOR', 'GIT_PAGER'].includes(k), k);
  });
  it("the caller's own variables are set", () => assert.equal(env['GIT_INDEX_FILE'], '/tmp/idx'));
  it('never prompts', () => assert.equal(env['GIT_TERMINAL_PROMPT'], '0'));
  it('no CodePlane secret, no ssh prompt program', () => {
    assert.equal(env['CPL_PASSWORD'], undefined);
    assert.equal(env['CODEPLANE_HOME'], undefined);
    assert.equal(env['SSH_ASKPASS'], undefined);
  });
  it('the rest of the environment is kept (PATH, HOME)', () => {
    assert.equal(env['PATH'], '/usr/bin');
    assert.equal(env['HOME'], '/home/u');
  });
  it('driver overrides travel as GIT_CONFIG_COUNT/KEY/VALUE (exact names, `=` included)', () => {
    const e = gitInvocation(['add', '-A'], { inherited, driverNames: ['filter.a=b.clean'] }).env;
    assert.equal(e['GIT_CONFIG_COUNT'], '2');
    assert.equal(e['GIT_CONFIG_KEY_0'], 'filter.a=b.clean');
    assert.equal(e['GIT_CONFIG_VALUE_0'], '');
    assert.equal(e['GIT_CONFIG_KEY_1'], 'filter.a=b.required');
    assert.equal(e['GIT_CONFIG_VALUE_1'], 'false');
  });
  it('a tool that runs git (gh) gets the hardening as GIT_CONFIG_* variables', () => {
    const e = toolEnvForGit(inherited, { GH_PROMPT_DISABLED: '1' });
    const pairs = new Map<string, string>();
    for (let i = 0; i < Number(e['GIT_CONFIG_COUNT']); i++) pairs.set(e[`GIT_CONFIG_KEY_${i}`]!, e[`GIT_CONFIG_VALUE_${i}`]!);
    assert.equal(pairs.get('core.hooksPath'), '/dev/null');
    assert.equal(pairs.get('core.fsmonitor'), 'false');
    assert.equal(e['GIT_DIR'], undefined);
    assert.equal(e['CPL_PASSWORD'], undefined);
    assert.equal(e['GH_PROMPT_DISABLED'], '1');
  });
});

describe('driver scan', () => {
  it('commands that may run a filter or merge driver scan first', () => {
    for (const a of [['add', '-A'], ['status'], ['commit', '-m', 'x'], ['merge-tree', '--write-tree', 'a', 'b'], ['merge', '--ff-only', 'x'], ['worktree', 'add', '-b', 'b', 'p', 'c'], ['diff'], ['diff', 'HEAD'], ['-c', 'x=y', 'add', '.']])
      assert.equal(needsDriverScan(a), true, a.join(' '));
  });
  it('commands that read only objects and refs do not', () => {
    for (const a of [['rev-parse', 'HEAD'], ['diff', '--cached', 'x', '--'], ['diff', '--name-only', 'a', 'b', '--'], ['worktree', 'list', '--porcelain'], ['worktree', 'remove', '--force', 'add'], ['update-ref', 'a', 'b'], ['ls-files', '-u'], ['--version']])
      assert.equal(needsDriverScan(a), false, a.join(' '));
  });
  it('every filter command is emptied and made optional; a merge driver becomes the built-in merge', () => {
    assert.deepEqual(driverOverrides(['filter.x.clean', 'filter.x.smudge', 'filter.a.b.process', 'merge.m.driver', 'diff.d.textconv']), [
      ['filter.x.clean', ''],
      ['filter.x.smudge', ''],
      ['filter.a.b.process', ''],
      ['merge.m.driver', BUILTIN_MERGE_DRIVER],
      ['filter.x.required', 'false'],
      ['filter.a.b.required', 'false'],
    ]);
  });
  it('parses NUL- and newline-separated names', () => assert.deepEqual(parseConfigNames('filter.x.clean\0merge.y.driver\n'), ['filter.x.clean', 'merge.y.driver']));
});
