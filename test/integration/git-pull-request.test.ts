import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { toResponse } from '../../api/errors.ts';
import { AppError } from '../../machines/app-error.ts';
import { createPullRequest, type CreatePullRequestInput } from '../../supervisor/git/pull-request.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';

const FAKE_GH = fileURLToPath(new URL('../fixtures/fake-gh', import.meta.url));
const BRANCH = 'codeplane/pr-job';

/** A repo whose remote (`remoteName`, if any) is a local bare repository, and a job worktree with uncommitted work. */
function setup(t: TestContext, remoteName: string | null = 'origin') {
  const tmp = mkdtempSync(join(tmpdir(), 'cpl-pr-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const repo = makeRepo('cpl-pr-repo-');
  t.after(() => rmSync(repo, { recursive: true, force: true }));
  const bare = join(tmp, 'remote.git');
  git(tmp, 'init', '-q', '--bare', '-b', 'main', bare);
  if (remoteName) {
    git(repo, 'remote', 'add', remoteName, bare);
    git(repo, 'push', '-q', remoteName, 'main');
  }
  const wt = join(tmp, 'job');
  git(repo, 'worktree', 'add', '-q', '-b', BRANCH, wt, 'main');
  writeFileSync(join(wt, 'feature.txt'), 'the agent\'s work\n');
  const log = join(tmp, 'gh.log');
  const input = (over: Partial<CreatePullRequestInput> = {}): CreatePullRequestInput => ({
    repoPath: repo,
    worktreePath: wt,
    branch: BRANCH,
    baseRef: 'main',
    title: 'Add a feature',
    prompt: 'Please add a feature file',
    summary: 'Added feature.txt',
    ghPath: FAKE_GH,
    env: { FAKE_GH_LOG: log },
    ...over,
  });
  const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { args: string[] }) : []);
  const remoteHead = () => {
    try {
      return git(bare, 'rev-parse', '--verify', '--quiet', `refs/heads/${BRANCH}`);
    } catch {
      return undefined;
    }
  };
  return { repo, wt, bare, input, calls, remoteHead };
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => assert.fail('expected a refusal'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof AppError, String(e));
  return e;
}

describe('creating a pull request', () => {
  it('commits, pushes the job branch to the remote, runs gh pr create and returns the PR URL', async (t) => {
    const { wt, input, calls, remoteHead } = setup(t);
    const r = await createPullRequest(input());

    assert.equal(r.resolution, 'pr_created');
    assert.equal(r.prUrl, 'https://github.com/o/r/pull/1');
    assert.equal(r.remote, 'origin');
    assert.equal(r.existing, false);
    const head = git(wt, 'rev-parse', 'HEAD');
    assert.equal(r.commit, head);
    assert.equal(git(wt, 'log', '-1', '--format=%s'), 'CodePlane: Add a feature');
    assert.equal(remoteHead(), head, 'the job branch is on the remote');

    const pr = calls().find((c) => c.args[0] === 'pr')!;
    assert.deepEqual(pr.args.slice(0, 8), ['pr', 'create', '--head', BRANCH, '--base', 'main', '--title', 'Add a feature']);
    assert.equal(pr.args[8], '--body');
    assert.match(pr.args[9]!, /Please add a feature file/);
    assert.match(pr.args[9]!, /Added feature\.txt/);
  });

  it('uses the only remote when there is no origin, and strips it from a remote-tracking base', async (t) => {
    const { input, calls, remoteHead } = setup(t, 'upstream');
    const r = await createPullRequest(input({ baseRef: 'upstream/main' }));
    assert.equal(r.remote, 'upstream');
    assert.ok(remoteHead());
    assert.deepEqual(calls().find((c) => c.args[0] === 'pr')!.args.slice(4, 6), ['--base', 'main']);
  });

  it('refuses with NO_REMOTE and a hint when the repository has no remote, before running gh', async (t) => {
    const { input, calls } = setup(t, null);
    const e = await refusal(createPullRequest(input()));
    assert.equal(e.code, 'NO_REMOTE');
    assert.equal(toResponse(e).status, 409);
    assert.match(String(e.extra.details?.hint), /git remote add/);
    assert.deepEqual(calls(), []);
  });

  it('refuses with GH_NOT_FOUND and an install hint when gh is missing, without pushing', async (t) => {
    const { input, remoteHead } = setup(t);
    const e = await refusal(createPullRequest(input({ ghPath: join(tmpdir(), 'no-such-dir', 'gh') })));
    assert.equal(e.code, 'GH_NOT_FOUND');
    assert.match(e.message, /cli\.github\.com/);
    assert.equal(remoteHead(), undefined, 'nothing was pushed');
  });

  it('refuses with GH_NOT_AUTHENTICATED and the gh auth login hint when gh is not logged in', async (t) => {
    const { input } = setup(t);
    const e = await refusal(createPullRequest(input({ env: { FAKE_GH_FAIL: 'auth' } })));
    assert.equal(e.code, 'GH_NOT_AUTHENTICATED');
    assert.match(String(e.extra.details?.hint), /gh auth login/);
    assert.equal(toResponse(e).status, 503);
  });

  it('returns the existing PR when gh reports one for the branch', async (t) => {
    const { input } = setup(t);
    const r = await createPullRequest(input({ env: { FAKE_GH_FAIL: 'exists', FAKE_GH_URL: 'https://github.com/o/r/pull/7' } }));
    assert.equal(r.prUrl, 'https://github.com/o/r/pull/7');
    assert.equal(r.existing, true);
  });
});
