/**
 * A repository or a job's worktree deleted under the job (issue 14.5): the job fails with a reason
 * naming what vanished, every route that would run git answers 409 with a stable code instead of a
 * 500, discarding the job removes what it left (its worktree directory, its branch and its
 * registration when the repository is still there) and nothing that is not the job's, and the
 * server logs no error. Real server, real worker, the fake Claude CLI mid-turn.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { waitFor, workerPids } from '../helpers/processes.ts';
import { ScenarioServer, STEP_MS } from '../helpers/scenario-server.ts';
import { api, startServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

type ErrorBody = { error: { code: string; message: string } };

/**
 * Server log lines at error level or worse (pino: 50 error, 60 fatal), and any uncaught failure.
 * Not the ref guard's containment alarms (logged as errors by design, with their `changes`): a turn
 * cut short by a deleted repository could not have its refs checked, and the guard says so.
 */
function errorLines(home: string): string[] {
  const file = join(home, 'logs', 'codeplane.log');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const alarm = (l: string) => /"changes":\[/.test(l) && /"msg":"The (ref guard|agent's turn)/.test(l);
  return text.split('\n').filter((l) => (/"level":(50|60)/.test(l) && !alarm(l)) || /uncaught|unhandled/i.test(l));
}

describe('a repository or worktree that vanished under a job', () => {
  let h: ScenarioServer;
  before(async () => {
    h = await ScenarioServer.start();
  });
  after(async () => {
    if (process.env['DEBUG_VANISH']) console.log(h.server.output(), readFileSync(join(h.home, 'logs', 'codeplane.log'), 'utf8').slice(-6000));
    await h?.stop();
  });

  const call = (method: string, path: string, body?: unknown) => api<ErrorBody & Record<string, unknown>>(h.url, method, path, body);

  async function assertCode(method: string, path: string, body: unknown, status: number, code: string): Promise<void> {
    const res = await call(method, path, body);
    assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, code, `${method} ${path}`);
  }

  async function failedWith(job: Job, reason: RegExp): Promise<Job> {
    const e = await h.waitEvent(job.id, 'job_state_changed', (d) => d['to'] === 'failed');
    assert.match(String(e.data['reason']), reason);
    const now = await h.job(job.id);
    assert.equal(now.state, 'failed');
    assert.match(now.failureReason ?? '', reason);
    return now;
  }

  async function discardRemovesLeftovers(job: Job): Promise<void> {
    const res = await call('POST', `/api/jobs/${job.id}/resolve`, { action: 'discard' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body['resolution'], 'discarded');
    // The removal runs once the worker has let go (after the answer): wait for its result.
    await waitFor(() => !existsSync(job.worktreePath), STEP_MS, 'the leftover worktree removed');
    const after = await h.job(job.id);
    assert.equal(after.state, 'completed');
    assert.equal(after.resolution, 'discarded');
    await assertCode('POST', `/api/jobs/${job.id}/resolve`, { action: 'discard' }, 409, 'INVALID_STATE');
  }

  it('the repository deleted while the agent is mid-turn: the job fails naming it, routes answer REPO_MISSING, discard removes the leftover worktree', async () => {
    const job = await h.createJob('claude', '[[slow 2000]]');
    await h.waitEvent(job.id, 'transcript_update', (d) => (d['entry'] as { role: string }).role === 'agent_delta');
    // Something of someone else's next to the job's worktree: it must survive the discard.
    const neighbour = join(dirname(job.worktreePath), 'not-this-job');
    mkdirSync(neighbour, { recursive: true });
    writeFileSync(join(neighbour, 'keep.txt'), 'keep');

    rmSync(h.repo, { recursive: true, force: true });
    const failed = await failedWith(job, new RegExp(`REPO_MISSING: the repository ${h.repo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was deleted or moved`));
    await waitFor(() => workerPids(job.id).length === 0, STEP_MS, 'the worker to exit');
    assert.ok(existsSync(failed.worktreePath), 'the worktree directory is still there until the job is discarded');

    await assertCode('GET', `/api/jobs/${job.id}/diff`, undefined, 409, 'REPO_MISSING');
    await assertCode('POST', `/api/jobs/${job.id}/resolve`, { action: 'merge' }, 409, 'REPO_MISSING');
    await assertCode('POST', `/api/jobs/${job.id}/resolve`, { action: 'create_pr' }, 409, 'REPO_MISSING');
    await assertCode('POST', `/api/jobs/${job.id}/resume`, {}, 409, 'REPO_MISSING');
    await assertCode('POST', `/api/jobs/${job.id}/messages`, { content: 'go on' }, 409, 'INVALID_STATE');
    assert.equal((await call('GET', `/api/jobs/${job.id}`)).status, 200);
    assert.equal((await call('GET', `/api/jobs/${job.id}/snapshot`)).status, 200);

    await discardRemovesLeftovers(job);
    assert.equal(readFileSync(join(neighbour, 'keep.txt'), 'utf8'), 'keep', 'nothing that is not the job\'s is removed');
    assert.deepEqual(errorLines(h.home), []);
    // The turn's end found no repository: the workspace check reported it; the ref guard has nothing to guard, so no alarm.
    const snapshot = await call('GET', `/api/jobs/${job.id}/snapshot`);
    assert.deepEqual(snapshot.body['alarms'], [], 'no containment alarm for a deleted repository');
  });

  it('the worktree deleted while the agent is mid-turn: the job fails with WORKTREE_MISSING and its worker exits', async () => {
    const repo = makeRepo('cpl-vanish-wt-');
    assert.equal((await call('POST', '/api/repos', { path: repo })).status, 201);
    const created = await api<Job>(h.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: '[[slow 2000]]', permissionMode: 'full_auto' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const job = created.body;
    await h.waitEvent(job.id, 'transcript_update', (d) => (d['entry'] as { role: string }).role === 'agent_delta');
    rmSync(job.worktreePath, { recursive: true, force: true });
    await failedWith(job, /^WORKTREE_MISSING: the job's worktree .* was deleted while the job ran/);
    await waitFor(() => workerPids(job.id).length === 0, STEP_MS, 'the worker to exit');
    await assertCode('GET', `/api/jobs/${job.id}/diff`, undefined, 409, 'WORKTREE_MISSING');
    await discardRemovesLeftovers(job);
    await waitFor(() => git(repo, 'branch', '--list', job.branch) === '', STEP_MS, 'the job branch deleted');
    assert.deepEqual(errorLines(h.home), []);
    rmSync(repo, { recursive: true, force: true });
  });

  it('the repository replaced by a new one at the same path: the job fails (its worktree lost its link), discard leaves the new repository alone', async () => {
    const repo = makeRepo('cpl-vanish-reclone-');
    assert.equal((await call('POST', '/api/repos', { path: repo })).status, 201);
    const created = await api<Job>(h.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: 'hello', permissionMode: 'full_auto' });
    const job = created.body;
    await h.reached(job.id, 'review');
    // Once the turn's ref check is done: a check running meanwhile would compare the old repository's refs with the new one's.
    const serverLog = () => readFileSync(join(h.home, 'logs', 'codeplane.log'), 'utf8');
    await waitFor(() => serverLog().split('\n').some((l) => l.includes(job.id) && l.includes('ref guard: turn checked')), STEP_MS, "the turn's ref check");
    // The user moves the repository away and makes a new one where it was.
    renameSync(repo, `${repo}.old`);
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'a new repository');
    const head = git(repo, 'rev-parse', 'HEAD');
    await failedWith(job, /^WORKTREE_MISSING: the job's worktree .* lost its link to the repository/);
    await waitFor(() => workerPids(job.id).length === 0, STEP_MS, 'the worker to exit');
    await assertCode('GET', `/api/jobs/${job.id}/diff`, undefined, 409, 'WORKTREE_MISSING');
    await assertCode('POST', `/api/jobs/${job.id}/resolve`, { action: 'merge' }, 409, 'WORKTREE_MISSING');
    await discardRemovesLeftovers(job);
    assert.equal(git(repo, 'rev-parse', 'HEAD'), head, 'the new repository is untouched');
    assert.equal(git(repo, 'worktree', 'list', '--porcelain').match(/^worktree /gm)?.length, 1);
    assert.deepEqual(errorLines(h.home), []);
    for (const d of [repo, `${repo}.old`]) rmSync(d, { recursive: true, force: true });
  });

  it('only the worktree deleted while the job is in review: every route answers WORKTREE_MISSING, the job fails, discard deletes the branch and prunes the registration', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'cpl-vanish-repo-'));
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'init');
    const reg = await call('POST', '/api/repos', { path: repo });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    try {
      const created = await api<Job>(h.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: '[[write notes.txt hello]]', permissionMode: 'full_auto' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const job = created.body;
      await h.reached(job.id, 'review');
      assert.match(git(repo, 'worktree', 'list'), new RegExp(job.id));

      rmSync(job.worktreePath, { recursive: true, force: true });
      // Whichever comes first (a route, or the periodic look) fails the job; every route names the code.
      await assertCode('GET', `/api/jobs/${job.id}/diff`, undefined, 409, 'WORKTREE_MISSING');
      await assertCode('POST', `/api/jobs/${job.id}/resolve`, { action: 'merge' }, 409, 'WORKTREE_MISSING');
      await assertCode('POST', `/api/jobs/${job.id}/resolve`, { action: 'create_pr' }, 409, 'WORKTREE_MISSING');
      await failedWith(job, /^WORKTREE_MISSING: the job's worktree .* was deleted/);
      await assertCode('POST', `/api/jobs/${job.id}/resume`, { instruction: 'again' }, 409, 'WORKTREE_MISSING');
      await waitFor(() => workerPids(job.id).length === 0, STEP_MS, 'the worker to exit');

      await discardRemovesLeftovers(job);
      // The branch goes last: once it is gone the registration was pruned before it.
      await waitFor(() => git(repo, 'branch', '--list', job.branch) === '', STEP_MS, 'the job branch deleted');
      assert.doesNotMatch(git(repo, 'worktree', 'list'), new RegExp(job.id), 'the registration is pruned');
      assert.match(git(repo, 'branch', '--list', 'main'), /main/, 'the base branch stays');
      assert.deepEqual(errorLines(h.home), []);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('a worktree replaced by a symlink to a directory of the user: the job fails, discard removes nothing behind the link', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'cpl-vanish-link-'));
    const precious = mkdtempSync(join(tmpdir(), 'cpl-precious-'));
    writeFileSync(join(precious, 'thesis.txt'), 'years of work');
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'init');
    assert.equal((await call('POST', '/api/repos', { path: repo })).status, 201);
    try {
      const created = await api<Job>(h.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: 'hello', permissionMode: 'full_auto' });
      const job = created.body;
      await h.reached(job.id, 'review');
      rmSync(job.worktreePath, { recursive: true, force: true });
      symlinkSync(precious, job.worktreePath);

      await failedWith(job, /^WORKTREE_MISSING/);
      await waitFor(() => workerPids(job.id).length === 0, STEP_MS, 'the worker to exit');
      const res = await call('POST', `/api/jobs/${job.id}/resolve`, { action: 'discard' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await waitFor(() => git(repo, 'branch', '--list', job.branch) === '', STEP_MS, 'the job branch deleted');
      assert.equal(readFileSync(join(precious, 'thesis.txt'), 'utf8'), 'years of work', 'the directory behind the link is untouched');
      assert.ok(!existsSync(job.worktreePath), 'the link itself is removed');
      assert.doesNotMatch(git(repo, 'worktree', 'list'), new RegExp(job.id), 'the registration is pruned');
      assert.deepEqual(errorLines(h.home), []);
    } finally {
      rmSync(repo, { recursive: true, force: true });
      rmSync(precious, { recursive: true, force: true });
    }
  });
});

describe('a repository deleted while the server was down', () => {
  it('the job it ran is not restarted at the next start: it fails naming the repository, and discard removes the leftover', async () => {
    const repo = makeRepo('cpl-vanish-down-');
    const home = mkdtempSync(join(tmpdir(), 'cpl-home-'));
    let server = await startServerProcess({ cwd: tmpdir(), home });
    try {
      assert.equal((await api(server.url, 'POST', '/api/repos', { path: repo })).status, 201);
      const sse = await SseClient.open(`${server.url}/api/events`);
      const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: '[[slow 2000]]', permissionMode: 'full_auto' });
      await sse.waitFor((e) => e.data['jobId'] === job.id && e.event === 'transcript_update' && (e.data['entry'] as { role: string }).role === 'agent_delta', STEP_MS, 'the agent streaming');
      sse.close();
      // The server and the job's worker die (a power cut); the user deletes the repository meanwhile.
      const died = new Promise((r) => server.child.once('exit', r));
      server.child.kill('SIGKILL');
      await died;
      for (const pid of workerPids(job.id)) process.kill(pid, 'SIGKILL');
      await waitFor(() => workerPids(job.id).length === 0, STEP_MS, 'the worker gone');
      rmSync(repo, { recursive: true, force: true });

      server = await startServerProcess({ cwd: tmpdir(), home });
      const until = Date.now() + STEP_MS;
      let after = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
      while (after.state === 'running' && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        after = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
      }
      assert.equal(after.state, 'failed');
      assert.match(after.failureReason ?? '', /^CodePlane .*; REPO_MISSING: the repository .* was deleted or moved/);
      assert.deepEqual(workerPids(job.id), [], 'no worker was started in the vanished workspace');
      const res = await api<{ resolution: string }>(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'discard' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await waitFor(() => !existsSync(job.worktreePath), STEP_MS, 'the leftover worktree removed');
      assert.deepEqual(errorLines(home), []);
    } finally {
      await server.stop();
      rmSync(repo, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('a repository that lost its .git while its job was queued', () => {
  it('the job fails with REPO_MISSING when it comes to start, and nothing is created in the repository around it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-home-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ maxConcurrentJobs: 1 }));
    const busy = makeRepo('cpl-vanish-busy-');
    const outer = makeRepo('cpl-vanish-outer-');
    const inner = join(outer, 'inner');
    mkdirSync(inner);
    git(inner, 'init', '-q', '-b', 'main');
    git(inner, 'commit', '-q', '--allow-empty', '-m', 'init');
    const server = await startServerProcess({ cwd: tmpdir(), home });
    try {
      for (const path of [busy, inner]) assert.equal((await api(server.url, 'POST', '/api/repos', { path })).status, 201);
      const sse = await SseClient.open(`${server.url}/api/events`);
      const { body: first } = await api<Job>(server.url, 'POST', '/api/jobs', { repo: busy, agent: 'claude', prompt: '[[slow 2000]]', permissionMode: 'full_auto' });
      await sse.waitFor((e) => e.data['jobId'] === first.id && e.event === 'job_state_changed' && e.data['to'] === 'running', STEP_MS, 'the first job running');
      const { body: queued } = await api<Job>(server.url, 'POST', '/api/jobs', { repo: inner, agent: 'claude', prompt: 'hello', permissionMode: 'full_auto' });
      assert.equal(queued.state, 'queued');
      rmSync(join(inner, '.git'), { recursive: true, force: true }); // git would now find `outer` from `inner`
      assert.equal((await api(server.url, 'POST', `/api/jobs/${first.id}/cancel`)).status, 200);

      const failed = await sse.waitFor((e) => e.data['jobId'] === queued.id && e.event === 'job_state_changed' && e.data['to'] === 'failed', STEP_MS, 'the queued job failed');
      sse.close();
      assert.match(String(failed.data['reason']), /^REPO_MISSING: the repository .*inner was deleted or moved before the job started/);
      assert.equal(git(outer, 'branch', '--list', 'codeplane/*'), '', 'no job branch in the enclosing repository');
      assert.equal(git(outer, 'worktree', 'list', '--porcelain').match(/^worktree /gm)?.length, 1, 'no worktree added to the enclosing repository');
      assert.ok(!existsSync(queued.worktreePath));
      assert.deepEqual(errorLines(home), []);
    } finally {
      await server.stop();
      for (const d of [busy, outer, home]) rmSync(d, { recursive: true, force: true });
    }
  });
});

