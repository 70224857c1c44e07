import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { ROOT, api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

type Err = { error: { code: string; message: string; details?: { conflictFiles?: string[]; agentPrompt?: string } } };

/** Review and land through the real server: diff, merge, conflict, PR, discard. */
describe('review and land a job', () => {
  let repo: string;
  let server: ServerProcess;
  let sse: SseClient;
  const ghLog = join(mkdtempSync(join(tmpdir(), 'cpl-gh-')), 'gh.log');

  before(async () => {
    repo = makeRepo();
    const remote = mkdtempSync(join(tmpdir(), 'cpl-remote-'));
    git(remote, 'init', '-q', '--bare');
    git(repo, 'remote', 'add', 'origin', remote);
    const bin = mkdtempSync(join(tmpdir(), 'cpl-bin-'));
    symlinkSync(join(ROOT, 'test/fixtures/fake-gh'), join(bin, 'gh'));
    server = await startServerProcess({ cwd: repo, env: { PATH: `${bin}:${process.env['PATH']}`, FAKE_GH_LOG: ghLog } });
    sse = await SseClient.open(`${server.url}/api/events`);
  });
  after(async () => {
    sse?.close();
    await server?.stop();
  });

  const runToReview = async (prompt: string): Promise<Job> => {
    const { status, body } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt, agent: 'claude', permissionMode: 'full_auto' });
    assert.equal(status, 201, JSON.stringify(body));
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === body.id && e.data['to'] === 'review', 30_000, 'review');
    return (await api<Job>(server.url, 'GET', `/api/jobs/${body.id}`)).body;
  };
  const completed = (jobId: string) =>
    sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === jobId && e.data['to'] === 'completed', 30_000, 'completed');

  it('shows the diff, publishes a diff_update, and merges without touching local edits', async () => {
    writeFileSync(join(repo, 'README.md'), '# test repo\nlocal uncommitted edit\n');
    const job = await runToReview('[[write feature.txt the feature]]');
    const diff = await api<{ files: { path: string; status: string; additions: number }[]; stats: { files: number } }>(server.url, 'GET', `/api/jobs/${job.id}/diff`);
    assert.equal(diff.status, 200);
    assert.deepEqual(diff.body.files.map((f) => [f.path, f.status, f.additions]), [['feature.txt', 'added', 1]]);
    await sse.waitFor((e) => e.event === 'diff_update' && e.data['jobId'] === job.id, 15_000, 'diff_update');
    const snap = await api<{ diff: { files: number } | null }>(server.url, 'GET', `/api/jobs/${job.id}/snapshot`);
    assert.equal(snap.body.diff?.files, 1);

    const res = await api<{ resolution: string }>(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'merge' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.resolution, 'merged');
    await completed(job.id);
    assert.equal(readFileSync(join(repo, 'feature.txt'), 'utf8'), 'the feature');
    assert.equal(readFileSync(join(repo, 'README.md'), 'utf8'), '# test repo\nlocal uncommitted edit\n', 'local edit survives');
    const final = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
    assert.equal(final.resolution, 'merged');
    const again = await api<Err>(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'merge' });
    assert.equal(again.status, 409);
    // The worktree and the merged branch are cleaned up once the worker lets go.
    // Cleanup runs after the worker lets go of the worktree: wait for both the directory and the branch.
    for (let i = 0; i < 100 && (existsSync(job.worktreePath) || git(repo, 'branch', '--list', job.branch) !== ''); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(existsSync(job.worktreePath), false);
    assert.equal(git(repo, 'branch', '--list', job.branch), '');
    git(repo, 'checkout', '--', 'README.md');
  });

  it('refuses a conflicting merge with the files and a prompt for the agent, leaving everything as it was', async () => {
    const job = await runToReview('[[write README.md agent version]]');
    writeFileSync(join(repo, 'README.md'), 'user version\n');
    git(repo, 'commit', '-qam', 'user edit');
    const before = git(repo, 'rev-parse', 'main');
    const res = await api<Err>(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'merge' });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'MERGE_CONFLICT');
    assert.deepEqual(res.body.error.details?.conflictFiles, ['README.md']);
    assert.match(res.body.error.details?.agentPrompt ?? '', /README\.md/);
    assert.equal(git(repo, 'rev-parse', 'main'), before, 'base branch unmoved');
    assert.equal(existsSync(join(repo, '.git', 'MERGE_HEAD')), false);
    assert.equal(git(repo, 'status', '--porcelain'), '');
    assert.equal((await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.state, 'review');
    const discard = await api<{ resolution: string }>(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'discard' });
    assert.equal(discard.body.resolution, 'discarded');
  });

  it('opens a pull request through gh after pushing the branch', async () => {
    const job = await runToReview('[[write pr.txt for review]]');
    const res = await api<{ resolution: string; prUrl: string }>(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'create_pr' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.prUrl, 'https://github.com/o/r/pull/1');
    await completed(job.id);
    assert.equal((await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.prUrl, 'https://github.com/o/r/pull/1');
    const calls = readFileSync(ghLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { args: string[] });
    const create = calls.find((c) => c.args[0] === 'pr' && c.args[1] === 'create');
    assert.ok(create, 'gh pr create was called');
    assert.ok(create.args.includes(job.branch));
    assert.match(git(repo, 'ls-remote', 'origin', job.branch), new RegExp(`refs/heads/${job.branch}`));
  });

  it('discards: worktree and branch gone, the base branch intact, twice is fine', async () => {
    const job = await runToReview('[[write junk.txt junk]]');
    const mainBefore = git(repo, 'rev-parse', 'main');
    const res = await api<{ resolution: string }>(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'discard' });
    assert.equal(res.body.resolution, 'discarded');
    await completed(job.id);
    // Cleanup runs after the worker lets go of the worktree: wait for both the directory and the branch.
    for (let i = 0; i < 100 && (existsSync(job.worktreePath) || git(repo, 'branch', '--list', job.branch) !== ''); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(existsSync(job.worktreePath), false);
    assert.equal(git(repo, 'branch', '--list', job.branch), '');
    assert.equal(git(repo, 'rev-parse', 'main'), mainBefore);
    const twice = await api<Err>(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'discard' });
    assert.equal(twice.status, 409);
    assert.equal(twice.body.error.code, 'INVALID_STATE');
  });

  it('refuses to resolve a job that is not in review, and bad actions', async () => {
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 200]]', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'running', 30_000);
    const res = await api<Err>(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'merge' });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'INVALID_STATE');
    const bad = await api<Err>(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'yolo' });
    assert.equal(bad.status, 400);
    await api(server.url, 'POST', `/api/jobs/${job.id}/cancel`);
  });
});
