import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job, JobSnapshot, ShareView } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { rawRequest } from '../helpers/http-raw.ts';
import { waitFor } from '../helpers/processes.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

type Err = { error: { code: string } };
type Share = { token: string; url: string; expiresAt: string };

describe('share links: one job, read-only, expiring', () => {
  let server: ServerProcess;
  let repo: string;
  let auth: Record<string, string>;
  let job: Job;
  let other: Job;
  let share: Share;

  const reachReview = async (prompt: string): Promise<Job> => {
    const created = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt, agent: 'claude', permissionMode: 'full_auto' }, auth);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (let i = 0; i < 300; i++) {
      // In review, and its final diff (computed on entering review) recorded.
      const snap = (await api<JobSnapshot>(server.url, 'GET', `/api/jobs/${created.body.id}/snapshot`, undefined, auth)).body;
      if (snap.job.state === 'review' && snap.diff !== null) return snap.job;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the job never reached review');
  };

  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({ cwd: repo, env: { CPL_PASSWORD: 'share test password' } });
    auth = { authorization: `Bearer ${readFileSync(join(server.home, 'run/cli-token'), 'utf8').trim()}` };
    job = await reachReview('Write a greeting [[write hello.txt hi there]]');
    other = await reachReview('Another job entirely');
  });
  after(async () => {
    await server?.stop();
  });

  it('needs the usual authentication to create a share, and returns a 256-bit token with a 24 h expiry', async () => {
    assert.equal((await api<Err>(server.url, 'POST', `/api/jobs/${job.id}/shares`)).status, 401);
    assert.equal((await api<Err>(server.url, 'POST', '/api/jobs/jnope/shares', undefined, auth)).body.error.code, 'JOB_NOT_FOUND');
    const res = await api<Share>(server.url, 'POST', `/api/jobs/${job.id}/shares`, undefined, auth);
    assert.equal(res.status, 201);
    share = res.body;
    assert.match(share.token, /^cps_[\w-]{43}$/, '32 random bytes, base64url');
    assert.equal(share.url, `${server.url}/share/${share.token}`);
    const ttl = Date.parse(share.expiresAt) - Date.now();
    assert.ok(ttl > 23.9 * 3600_000 && ttl <= 24 * 3600_000, String(ttl));
  });

  it('opens the read-only views without login: metadata, transcript, diff summary, no local paths', async () => {
    const view = await api<ShareView>(server.url, 'GET', `/api/share/${share.token}`);
    assert.equal(view.status, 200);
    assert.equal(view.body.job.id, job.id);
    assert.equal(view.body.job.state, 'review');
    assert.ok(view.body.transcript.some((t) => t.role === 'tool_call'));
    assert.ok(view.body.diff?.files.some((f) => f.path === 'hello.txt'), JSON.stringify(view.body.diff));
    const meta = JSON.stringify(view.body.job);
    assert.ok(!meta.includes(job.worktreePath) && !meta.includes(repo), 'no local paths in the job metadata');
    assert.ok(!('agentSessionId' in view.body.job));
    const page = await rawRequest(server.url, { path: `/share/${share.token}` });
    assert.equal(page.status, 200);
    assert.match(page.text, /<script>/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'sha256-[^']+'/);
    assert.doesNotMatch(String(page.headers['content-security-policy']), /unsafe-inline/);
    assert.equal(page.headers['referrer-policy'], 'no-referrer', 'the token never leaks in a Referer');
  });

  it('refuses the share token anywhere else with 403 SHARE_TOKEN_FORBIDDEN', async () => {
    const bearer = { authorization: `Bearer ${share.token}` };
    const attempts: [string, string, Record<string, string>][] = [
      ['GET', '/api/jobs', bearer],
      ['GET', `/api/jobs/${job.id}`, bearer],
      ['GET', `/api/jobs/${job.id}/diff`, bearer],
      ['GET', `/api/events?jobId=${job.id}`, bearer],
      ['POST', `/api/jobs/${job.id}/cancel`, bearer],
      ['DELETE', `/api/shares/${share.token}`, bearer],
      ['GET', `/api/jobs/${job.id}?token=${share.token}`, {}],
      ['GET', `/api/approvals?share=${share.token}`, {}],
      ['GET', '/api/jobs', { 'x-share-token': share.token }],
      ['GET', `/api/jobs/${other.id}/snapshot`, bearer],
      ['GET', '/api/preview/3000/', bearer],
    ];
    for (const [method, path, headers] of attempts) {
      const res = await api<Err>(server.url, method, path, undefined, headers);
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(res.body.error.code, 'SHARE_TOKEN_FORBIDDEN');
    }
  });

  it('streams only its own job over the share SSE, live, and cuts the stream when revoked', async () => {
    const sse = await SseClient.open(`${server.url}/api/share/${share.token}/events`);
    assert.equal(sse.status, 200);
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['to'] === 'review', 10_000, 'the replayed review');
    assert.ok(sse.events.every((e) => e.data['jobId'] === job.id), 'no event of another job');
    const sent = await api(server.url, 'POST', `/api/jobs/${job.id}/messages`, { content: 'One more thing' }, auth);
    assert.equal(sent.status, 202);
    await sse.waitFor((e) => e.event === 'transcript_update' && (e.data['entry'] as { role: string }).role === 'operator', 15_000, 'the live follow-up');
    assert.equal((await api(server.url, 'DELETE', `/api/shares/${share.token}`, undefined, auth)).status, 204);
    await waitFor(() => sse.closed, 5000, 'the share stream to close');
    for (const path of [`/api/share/${share.token}`, `/api/share/${share.token}/events`, `/share/${share.token}`]) assert.equal((await rawRequest(server.url, { path })).status, 404, path);
    assert.equal((await api(server.url, 'DELETE', `/api/shares/${share.token}`, undefined, auth)).status, 404, 'revoking twice');
  });

  it('answers 404 for unknown, malformed and near-miss tokens', async () => {
    const live = (await api<Share>(server.url, 'POST', `/api/jobs/${job.id}/shares`, undefined, auth)).body.token;
    const nearMiss = `${live.slice(0, -1)}${live.endsWith('A') ? 'B' : 'A'}`;
    for (const token of ['cps_unknown', nearMiss, 'x', '..%2f..%2fetc%2fpasswd', `${live}x`, encodeURIComponent(`${live}\u0000`)]) {
      const res = await rawRequest(server.url, { path: `/api/share/${token}` });
      assert.ok(res.status === 404 || res.status === 400, `${token}: ${res.status}`);
    }
    assert.equal((await rawRequest(server.url, { path: `/api/share/${live}` })).status, 200);
  });
});

describe('share links expire', () => {
  it('after their TTL (shortened for the test with CPL_SHARE_TTL_SECONDS)', async () => {
    const repo = makeRepo();
    const server = await startServerProcess({ cwd: repo, env: { CPL_SHARE_TTL_SECONDS: '1' } });
    try {
      const job = (await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'hello', agent: 'claude' })).body;
      const share = (await api<Share>(server.url, 'POST', `/api/jobs/${job.id}/shares`)).body;
      assert.equal((await api(server.url, 'GET', `/api/share/${share.token}`)).status, 200);
      // Polled: the link must be gone soon after its 1 s TTL (a link that never expires times out here).
      const until = Date.now() + 15_000;
      let gone = await api<Err>(server.url, 'GET', `/api/share/${share.token}`);
      while (gone.status === 200 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        gone = await api<Err>(server.url, 'GET', `/api/share/${share.token}`);
      }
      assert.equal(gone.status, 404);
      assert.equal(gone.body.error.code, 'SHARE_NOT_FOUND');
    } finally {
      await server.stop();
    }
  });
});
