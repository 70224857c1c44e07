import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { toResponse } from '../../api/errors.ts';
import { AppError } from '../../machines/app-error.ts';
import { conflictResolutionPrompt, mergeJob, type MergeJobInput } from '../../supervisor/git/merge.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';

// The code under test must work for a user with NO git identity: a HOME without a global
// config for every git it runs (the helper's `git` passes an identity via env). GIT_CONFIG_GLOBAL
// would not do: the server's git sees none of its GIT_* variables (machines/git-invocation.ts).
const emptyHome = mkdtempSync(join(tmpdir(), 'cpl-gitcfg-'));
process.env.HOME = emptyHome;
process.env.XDG_CONFIG_HOME = emptyHome;
after(() => rmSync(emptyHome, { recursive: true, force: true }));
for (const k of ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL']) delete process.env[k];

const BRANCH = 'codeplane/job';

/** The user's repo (`main` checked out unless `checkedOut: false`) and a job worktree. */
function setup(t: TestContext, opts: { checkedOut?: boolean } = {}) {
  const repo = makeRepo('cpl-merge-');
  writeFileSync(join(repo, 'a.txt'), 'a1\na2\na3\n');
  writeFileSync(join(repo, 'b.txt'), 'b1\nb2\n');
  writeFileSync(join(repo, '.gitignore'), '.env\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'base');
  const wt = join(mkdtempSync(join(tmpdir(), 'cpl-wt-')), 'job');
  git(repo, 'worktree', 'add', '-q', '-b', BRANCH, wt, 'main');
  if (opts.checkedOut === false) git(repo, 'checkout', '-q', '-b', 'user-feature');
  t.after(() => {
    rmSync(repo, { recursive: true, force: true });
    rmSync(join(wt, '..'), { recursive: true, force: true });
  });
  const input = (over: Partial<MergeJobInput> = {}): MergeJobInput => ({
    repoPath: repo,
    worktreePath: wt,
    branch: BRANCH,
    baseRef: 'main',
    strategy: 'merge',
    jobTitle: 'Add a greeting',
    ...over,
  });
  return { repo, wt, input, main: () => git(repo, 'rev-parse', 'refs/heads/main') };
}

/** Everything that would show a half-done merge in a worktree. */
function assertNothingInProgress(dir: string) {
  for (const f of ['MERGE_HEAD', 'MERGE_MSG', 'AUTO_MERGE', 'CHERRY_PICK_HEAD']) {
    const p = git(dir, 'rev-parse', '--path-format=absolute', '--git-path', f);
    assert.equal(existsSync(p), false, `${f} exists in ${dir}`);
  }
  assert.equal(git(dir, 'ls-files', '-u'), '', `unmerged entries in ${dir}`);
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => assert.fail('expected a refusal'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof AppError, String(e));
  return e;
}

describe('merging a job into its base branch', () => {
  it('commits the agent\'s uncommitted work with a fallback identity, then moves an unchecked-out base with update-ref', async (t) => {
    const { repo, wt, input, main } = setup(t, { checkedOut: false });
    const before = main();
    writeFileSync(join(wt, 'a.txt'), 'a1\nAGENT\na3\n');
    writeFileSync(join(wt, 'new.txt'), 'new\n');

    const r = await mergeJob(input());

    assert.equal(r.resolution, 'merged');
    assert.equal(r.updated, 'ref');
    assert.equal(r.commit, main());
    assert.ok(r.jobCommit);
    assert.equal(git(wt, 'log', '-1', '--format=%s|%an|%ae', BRANCH), 'CodePlane: Add a greeting|CodePlane|codeplane@localhost');
    assert.equal(git(repo, 'rev-parse', `${r.commit}^1`), before);
    assert.equal(git(repo, 'rev-parse', `${r.commit}^2`), r.jobCommit);
    assert.equal(git(repo, 'show', 'main:a.txt'), 'a1\nAGENT\na3');
    assert.equal(git(repo, 'show', 'main:new.txt'), 'new');
    assert.equal(git(repo, 'symbolic-ref', '--short', 'HEAD'), 'user-feature', 'the user\'s checkout was not switched');
    assert.equal(git(repo, 'status', '--porcelain'), '');
    assert.equal(git(wt, 'status', '--porcelain'), '', 'the job worktree is clean after the commit');
  });

  it('keeps a configured identity', async (t) => {
    const { repo, wt, input } = setup(t, { checkedOut: false });
    git(repo, 'config', 'user.name', 'Alice');
    git(repo, 'config', 'user.email', 'alice@example.com');
    writeFileSync(join(wt, 'a.txt'), 'changed\n');
    const r = await mergeJob(input());
    assert.equal(git(repo, 'log', '-1', '--format=%an <%ae>', r.jobCommit!), 'Alice <alice@example.com>');
  });

  it('fast-forwards the user\'s checked-out base and leaves their non-overlapping uncommitted work byte-for-byte', async (t) => {
    const { repo, wt, input, main } = setup(t);
    writeFileSync(join(wt, 'a.txt'), 'a1\nAGENT\na3\n');
    const userB = 'b1\nuser edit, not committed\n';
    writeFileSync(join(repo, 'b.txt'), userB);
    writeFileSync(join(repo, 'notes.txt'), 'untracked user notes\n');
    writeFileSync(join(repo, '.env'), 'SECRET=1\n');
    writeFileSync(join(repo, 'staged.txt'), 'staged by the user\n');
    git(repo, 'add', 'staged.txt');
    // A staged MODIFICATION of a tracked file the merge does not touch: an autostash would
    // give it back unstaged. The user's own merge.autoStash must not apply either.
    writeFileSync(join(repo, '.gitignore'), '.env\n*.log\n');
    git(repo, 'add', '.gitignore');
    git(repo, 'config', 'merge.autoStash', 'true');

    const r = await mergeJob(input());

    assert.equal(r.updated, 'checkout');
    assert.equal(git(repo, 'rev-parse', 'HEAD'), r.commit, 'HEAD moved');
    assert.equal(main(), r.commit);
    assert.equal(readFileSync(join(repo, 'a.txt'), 'utf8'), 'a1\nAGENT\na3\n', 'the merged change is in the user\'s files');
    assert.equal(readFileSync(join(repo, 'b.txt'), 'utf8'), userB);
    assert.equal(readFileSync(join(repo, 'notes.txt'), 'utf8'), 'untracked user notes\n');
    assert.equal(readFileSync(join(repo, '.env'), 'utf8'), 'SECRET=1\n');
    assert.equal(git(repo, 'diff', '--cached', '--name-only'), '.gitignore\nstaged.txt', 'what the user staged is still staged');
    assert.equal(git(repo, 'diff', '--name-only'), 'b.txt', 'what the user had not staged is still unstaged');
    assert.deepEqual(git(repo, 'status', '--porcelain').split('\n').map((l) => l.trim()).sort(), ['?? notes.txt', 'A  staged.txt', 'M  .gitignore', 'M b.txt']);
    assert.equal(git(repo, 'stash', 'list'), '', 'no stash was created');
    assertNothingInProgress(repo);
  });

  for (const kind of ['modified', 'untracked', 'ignored'] as const) {
    it(`refuses when the user's ${kind} local file overlaps the merge, naming it and changing nothing`, async (t) => {
      const { repo, wt, input, main } = setup(t);
      const file = kind === 'modified' ? 'a.txt' : kind === 'untracked' ? 'fresh.txt' : '.env';
      writeFileSync(join(wt, file), 'from the agent\n');
      if (kind === 'ignored') git(wt, 'add', '-f', '.env'); // the agent starts tracking an ignored file
      writeFileSync(join(repo, file), 'the user\'s own local content\n');
      const before = main();
      const status = git(repo, 'status', '--porcelain', '--ignored');

      const e = await refusal(mergeJob(input()));

      assert.equal(e.code, 'LOCAL_CHANGES_OVERLAP');
      assert.equal(toResponse(e).status, 409);
      assert.deepEqual(e.extra.details?.files, [file]);
      assert.match(e.message, new RegExp(file.replace('.', '\\.')));
      assert.equal(main(), before);
      assert.equal(readFileSync(join(repo, file), 'utf8'), 'the user\'s own local content\n');
      assert.equal(git(repo, 'status', '--porcelain', '--ignored'), status);
      assertNothingInProgress(repo);
    });
  }

  for (const checkedOut of [true, false]) {
    it(`reports a conflict with its files and leaves nothing half-done (base ${checkedOut ? '' : 'not '}checked out)`, async (t) => {
      const { repo, wt, input, main } = setup(t);
      writeFileSync(join(repo, 'a.txt'), 'a1\nUPSTREAM\na3\n');
      git(repo, 'commit', '-qam', 'upstream edit');
      if (!checkedOut) git(repo, 'checkout', '-q', '-b', 'user-feature');
      writeFileSync(join(wt, 'a.txt'), 'a1\nAGENT\na3\n');
      const before = main();
      const userA = readFileSync(join(repo, 'a.txt'));
      const status = git(repo, 'status', '--porcelain');

      const e = await refusal(mergeJob(input()));

      assert.equal(e.code, 'MERGE_CONFLICT');
      const res = toResponse(e);
      assert.equal(res.status, 409);
      assert.deepEqual(res.body.error.details?.conflictFiles, ['a.txt']);
      assert.equal(main(), before, 'base ref unmoved');
      assert.deepEqual(readFileSync(join(repo, 'a.txt')), userA);
      assert.equal(git(repo, 'status', '--porcelain'), status);
      assertNothingInProgress(repo);
      assertNothingInProgress(wt);
    });
  }

  it('merges cleanly when the base moved on since the job started', async (t) => {
    const { repo, wt, input } = setup(t);
    writeFileSync(join(repo, 'b.txt'), 'b1\nupstream\n');
    git(repo, 'commit', '-qam', 'upstream');
    writeFileSync(join(wt, 'a.txt'), 'a1\nAGENT\na3\n');
    const r = await mergeJob(input());
    assert.equal(git(repo, 'show', `${r.commit}:a.txt`), 'a1\nAGENT\na3');
    assert.equal(git(repo, 'show', `${r.commit}:b.txt`), 'b1\nupstream');
    assert.equal(readFileSync(join(repo, 'a.txt'), 'utf8'), 'a1\nAGENT\na3\n');
  });

  it('squashes into one single-parent commit', async (t) => {
    const { repo, wt, input, main } = setup(t);
    const before = main();
    writeFileSync(join(wt, 'a.txt'), 'one\n');
    git(wt, 'commit', '-qam', 'agent 1');
    writeFileSync(join(wt, 'b.txt'), 'two\n');
    const r = await mergeJob(input({ strategy: 'squash', message: 'Squashed job' }));
    assert.equal(git(repo, 'rev-list', '--parents', '-n1', r.commit), `${r.commit} ${before}`);
    assert.equal(git(repo, 'log', '-1', '--format=%s', r.commit), 'Squashed job');
    assert.equal(git(repo, 'diff', '--name-only', before, r.commit), 'a.txt\nb.txt');
    assert.equal(git(repo, 'rev-list', '--count', `${before}..main`), '1');
  });

  it('fast-forwards with ff-only when possible and refuses with NOT_FAST_FORWARD when not', async (t) => {
    const { repo, wt, input, main } = setup(t, { checkedOut: false });
    writeFileSync(join(wt, 'a.txt'), 'ff\n');
    const r = await mergeJob(input({ strategy: 'ff-only' }));
    assert.equal(r.commit, git(wt, 'rev-parse', 'HEAD'), 'the base now points at the job commit itself');
    assert.equal(main(), r.commit);

    git(repo, 'update-ref', 'refs/heads/main', git(repo, 'commit-tree', 'main^{tree}', '-p', 'main', '-m', 'someone else'));
    writeFileSync(join(wt, 'b.txt'), 'more\n');
    const before = main();
    const e = await refusal(mergeJob(input({ strategy: 'ff-only' })));
    assert.equal(e.code, 'NOT_FAST_FORWARD');
    assert.equal(toResponse(e).status, 409);
    assert.equal(main(), before);
  });

  it('lands after the agent resolves the conflict in its own worktree ("resolve with agent")', async (t) => {
    const { repo, wt, input, main } = setup(t);
    writeFileSync(join(repo, 'a.txt'), 'a1\nUPSTREAM\na3\n');
    git(repo, 'commit', '-qam', 'upstream edit');
    writeFileSync(join(wt, 'a.txt'), 'a1\nAGENT\na3\n');
    const e = await refusal(mergeJob(input()));
    const files = e.extra.details?.conflictFiles as string[];

    const prompt = conflictResolutionPrompt('main', files);
    assert.match(prompt, /git merge main/);
    assert.match(prompt, /- a\.txt/);

    // The agent, in its worktree: merge the base, hit the conflict, resolve, commit.
    assert.throws(() => git(wt, 'merge', 'main'));
    await assert.rejects(mergeJob(input()), { code: 'JOB_HAS_UNRESOLVED_CONFLICTS' }, 'no landing while conflict markers are unresolved');
    writeFileSync(join(wt, 'a.txt'), 'a1\nUPSTREAM+AGENT\na3\n');
    git(wt, 'add', 'a.txt');
    git(wt, 'commit', '-q', '--no-edit');

    const r = await mergeJob(input());
    assert.equal(main(), r.commit);
    assert.equal(readFileSync(join(repo, 'a.txt'), 'utf8'), 'a1\nUPSTREAM+AGENT\na3\n');
    assertNothingInProgress(repo);
  });

  it('reports "nothing to land" without moving the base', async (t) => {
    const { input, main } = setup(t);
    const before = main();
    const r = await mergeJob(input());
    assert.equal(r.updated, 'none');
    assert.equal(r.commit, before);
    assert.equal(main(), before);
  });

  it('refuses with WORKTREE_MISSING when the job worktree is gone', async (t) => {
    const { repo, wt, input, main } = setup(t);
    const before = main();
    git(repo, 'worktree', 'remove', '--force', wt);
    await assert.rejects(mergeJob(input()), { code: 'WORKTREE_MISSING' });
    assert.equal(main(), before);
  });

  it('refuses a base that is not a local branch', async (t) => {
    const { input } = setup(t);
    await assert.rejects(mergeJob(input({ baseRef: 'HEAD~0' })), { code: 'BASE_NOT_A_BRANCH' });
  });
});
