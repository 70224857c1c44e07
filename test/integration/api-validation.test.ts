import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JobPage } from '../../api/contract.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

type Err = { error: { code: string; message: string; field?: string } };

/** Every bad input gets a stable code and a clear message, and leaves nothing behind. */
describe('bad input is refused with a clear error', () => {
  let repo: string;
  let server: ServerProcess;
  const jobCount = async () => (await api<JobPage>(server.url, 'GET', '/api/jobs')).body.items.length;
  const branches = () => git(repo, 'branch', '--list').split('\n').map((b) => b.replace(/^[*+ ]+/, '').trim()).filter(Boolean).sort();
  const worktreeDirs = () => {
    const root = join(server.home, 'worktrees');
    return existsSync(root) ? readdirSync(root, { recursive: true }).length : 0;
  };

  before(async () => {
    repo = makeRepo();
    git(repo, 'branch', 'taken');
    server = await startServerProcess({ cwd: repo });
  });
  after(async () => {
    await server?.stop();
  });

  const expectError = async (method: string, path: string, body: unknown, status: number, code: string, field?: string, headers?: Record<string, string>) => {
    const res = await api<Err>(server.url, method, path, body, headers);
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.error.code, code);
    assert.ok(res.body.error.message.length > 0);
    if (field) assert.equal(res.body.error.field, field);
  };

  describe('job creation leaves no row, no worktree and no branch behind', () => {
    const cases: [string, Record<string, unknown>, number, string, string?][] = [
      ['an unregistered repository', { repo: '/definitely/not/registered', prompt: 'x', agent: 'claude' }, 400, 'REPO_NOT_REGISTERED', 'repo'],
      ['an unknown base ref', { prompt: 'x', agent: 'claude', baseRef: 'no-such-branch' }, 400, 'UNKNOWN_BASE_REF', 'baseRef'],
      ['a base ref that looks like an option', { prompt: 'x', agent: 'claude', baseRef: '--all' }, 400, 'UNKNOWN_BASE_REF', 'baseRef'],
      ['a branch that already exists', { prompt: 'x', agent: 'claude', branch: 'taken' }, 409, 'BRANCH_EXISTS'],
      ['an invalid branch name', { prompt: 'x', agent: 'claude', branch: 'bad..name' }, 400, 'INVALID_BRANCH', 'branch'],
      ['an unknown agent', { prompt: 'x', agent: 'gpt-9' }, 400, 'INVALID_INPUT', 'agent'],
      ['a missing prompt', { agent: 'claude' }, 400, 'INVALID_INPUT', 'prompt'],
      ['a blank prompt', { prompt: '   ', agent: 'claude' }, 400, 'INVALID_INPUT', 'prompt'],
      ['a prompt of the wrong type', { prompt: 42, agent: 'claude' }, 400, 'INVALID_INPUT', 'prompt'],
      ['an unknown permission mode', { prompt: 'x', agent: 'claude', permissionMode: 'yolo' }, 400, 'INVALID_INPUT', 'permissionMode'],
    ];
    for (const [name, body, status, code, field] of cases) {
      it(`refuses ${name}`, async () => {
        const before = { jobs: await jobCount(), branches: branches(), dirs: worktreeDirs() };
        await expectError('POST', '/api/jobs', { repo, ...body }, status, code, field);
        assert.equal(await jobCount(), before.jobs);
        assert.deepEqual(branches(), before.branches);
        assert.equal(worktreeDirs(), before.dirs);
      });
    }
  });

  describe('a body field the endpoint does not know is refused with 400 UNKNOWN_FIELD naming it, before anything happens', () => {
    // One row per route that reads a body; the ids need not exist: the body is judged first.
    const cases: [string, string, () => Record<string, unknown>, string][] = [
      ['POST', '/api/jobs', () => ({ repo, prompt: 'x', agent: 'claude', isAdmin: true }), 'isAdmin'],
      ['POST', '/api/jobs/jnope/messages', () => ({ content: 'hi', role: 'system' }), 'role'],
      ['POST', '/api/jobs/jnope/resume', () => ({ instruction: 'go on', force: true }), 'force'],
      ['POST', '/api/jobs/jnope/resolve', () => ({ action: 'merge', push: true }), 'push'],
      ['POST', '/api/approvals/nope/resolve', () => ({ resolution: 'approved', approvedBy: 'root' }), 'approvedBy'],
      ['POST', '/api/repos', () => ({ path: repo, name: 'mine' }), 'name'],
      ['POST', '/api/auth/login', () => ({ password: 'correct horse', remember: true }), 'remember'],
      ['POST', '/api/push/subscriptions', () => ({ endpoint: 'https://fcm.googleapis.com/fcm/send/x', keys: { p256dh: 'a', auth: 'b', extra: 1 } }), 'keys.extra'],
      ['DELETE', '/api/push/subscriptions', () => ({ endpoint: 'https://fcm.googleapis.com/fcm/send/x', keys: {} }), 'keys'],
    ];
    for (const [method, path, body, field] of cases) {
      it(`${method} ${path} names "${field}"`, async () => {
        const jobs = await jobCount();
        await expectError(method, path, body(), 400, 'UNKNOWN_FIELD', field);
        assert.equal(await jobCount(), jobs);
      });
    }
  });

  it('refuses a body that is not JSON', () => expectError('POST', '/api/jobs', '{"repo": ', 400, 'INVALID_JSON'));
  it('refuses a body that is not an object', () => expectError('POST', '/api/jobs', '[1,2]', 400, 'INVALID_INPUT'));
  it('refuses a non-JSON content type', () => expectError('POST', '/api/jobs', 'repo=x', 400, 'UNSUPPORTED_MEDIA_TYPE', undefined, { 'content-type': 'application/x-www-form-urlencoded' }));
  it('refuses a body over the size limit with 413', () =>
    expectError('POST', '/api/jobs', { repo, agent: 'claude', prompt: 'x'.repeat(1_100_000) }, 413, 'BODY_TOO_LARGE'));
  it('refuses a prompt over its limit naming the field', () =>
    expectError('POST', '/api/jobs', { repo, agent: 'claude', prompt: 'x'.repeat(100_001) }, 400, 'INVALID_INPUT', 'prompt'));
  it('answers 404 for an unknown job', () => expectError('GET', '/api/jobs/jnope', undefined, 404, 'JOB_NOT_FOUND'));
  it('answers 404 for the snapshot of an unknown job', () => expectError('GET', '/api/jobs/jnope/snapshot', undefined, 404, 'JOB_NOT_FOUND'));
  it('answers 404 for messages to an unknown job', () => expectError('POST', '/api/jobs/jnope/messages', { content: 'hi' }, 404, 'JOB_NOT_FOUND'));
  it('refuses an empty message', () => expectError('POST', '/api/jobs/jnope/messages', { content: '' }, 400, 'INVALID_INPUT', 'content'));
  it('answers 404 when canceling an unknown job', () => expectError('POST', '/api/jobs/jnope/cancel', undefined, 404, 'JOB_NOT_FOUND'));
  it('refuses a garbage list cursor', () => expectError('GET', '/api/jobs?cursor=%%%garbage', undefined, 400, 'INVALID_CURSOR'));
  it('refuses an unknown state filter', () => expectError('GET', '/api/jobs?state=running,bogus', undefined, 400, 'INVALID_STATE_FILTER', 'state'));
  it('refuses a limit out of range', () => expectError('GET', '/api/jobs?limit=0', undefined, 400, 'INVALID_QUERY', 'limit'));
  it('refuses a non-numeric transcript cursor', () => expectError('GET', '/api/jobs/jnope/transcript?before=abc', undefined, 400, 'INVALID_QUERY', 'before'));
  it('answers 404 for an unknown approval', () => expectError('POST', '/api/approvals/nope/resolve', { resolution: 'approved' }, 404, 'APPROVAL_NOT_FOUND'));
  it('refuses an approval answer that is neither approved nor rejected', () =>
    expectError('POST', '/api/approvals/nope/resolve', { resolution: 'maybe' }, 400, 'INVALID_INPUT', 'resolution'));
  it('refuses an unknown approvals state filter', () => expectError('GET', '/api/approvals?state=open', undefined, 400, 'INVALID_QUERY', 'state'));
  it('refuses a repository path that does not exist', () => expectError('POST', '/api/repos', { path: '/no/such/dir' }, 400, 'REPO_NOT_FOUND', 'path'));
  it('refuses a directory that is not a git repository', () =>
    expectError('POST', '/api/repos', { path: mkdtempSync(join(tmpdir(), 'cpl-plain-')) }, 400, 'NOT_A_GIT_REPO', 'path'));
  it('answers 404 with a code for an unknown route', () => expectError('GET', '/api/nothing-here', undefined, 404, 'NOT_FOUND'));
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    it(`answers 404 NOT_FOUND, not 405, to ${method} on an unknown route`, async () => {
      await expectError(method, '/api/nothing-here', method === 'DELETE' ? undefined : {}, 404, 'NOT_FOUND');
      await expectError(method, '/api/jobs/jnope/nothing', method === 'DELETE' ? undefined : {}, 404, 'NOT_FOUND');
      await expectError(method, '/not-a-page', method === 'DELETE' ? undefined : {}, 404, 'NOT_FOUND');
    });
  }
  it('answers 405 for a wrong method', () => expectError('DELETE', '/api/health', undefined, 405, 'METHOD_NOT_ALLOWED'));
  it('refuses a malformed Last-Event-ID', () => expectError('GET', '/api/events', undefined, 400, 'INVALID_LAST_EVENT_ID', 'lastEventId', { 'last-event-id': 'abc' }));
  it('answers 404 for the event stream of an unknown job', () => expectError('GET', '/api/events?jobId=jnope', undefined, 404, 'JOB_NOT_FOUND'));

  it('survives a request with a lying content-length and keeps serving', async () => {
    const url = new URL('/api/jobs', server.url);
    await new Promise<void>((resolve) => {
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '100' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => resolve());
      req.write('{"repo"');
      setTimeout(() => req.destroy(), 100);
    });
    const health = await api<{ status: string }>(server.url, 'GET', '/api/health');
    assert.equal(health.body.status, 'ok');
  });

  it('sets security headers on every response', async () => {
    const res = await fetch(`${server.url}/api/health`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  });
});
