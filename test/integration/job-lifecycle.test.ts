import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Approval, Job } from '../../api/contract.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

/**
 * The spine end to end: the real server process, a real git repo, the real
 * Claude Agent SDK driving the fake CLI, a real SSE client.
 */
describe('a job runs end to end', () => {
  let repo: string;
  let server: ServerProcess;

  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({ cwd: repo });
  });
  after(async () => {
    await server?.stop();
  });

  it('registers the repository it was started in', async () => {
    const { status, body } = await api<{ path: string; defaultBranch: string }[]>(server.url, 'GET', '/api/repos');
    assert.equal(status, 200);
    assert.equal(body.length, 1);
    assert.equal(body[0]!.defaultBranch, 'main');
  });

  it('creates a job, asks for approval, applies the tool in the worktree only, and reaches review', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const created = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'Create a greeting [[write hello.txt hi from the agent]]', agent: 'claude' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const job = created.body;
    assert.ok(['queued', 'preparing'].includes(job.state), job.state);
    assert.equal(job.permissionMode, 'review_and_approve');
    assert.match(job.branch, /^codeplane\//);

    const requested = await sse.waitFor((e) => e.event === 'approval_requested' && e.data['jobId'] === job.id, 30_000, 'approval_requested');
    const approval = requested.data['approval'] as { id: string; kind: string; summary: string };
    assert.equal(approval.kind, 'write');
    assert.match(approval.summary, /hello\.txt/);
    const waiting = await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`);
    assert.equal(waiting.body.state, 'waiting_for_approval');
    const pending = await api<Approval[]>(server.url, 'GET', `/api/approvals?state=pending&jobId=${job.id}`);
    assert.deepEqual(pending.body.map((a) => a.id), [approval.id]);

    const answer = await api<Approval>(server.url, 'POST', `/api/approvals/${approval.id}/resolve`, { resolution: 'approved' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.resolution, 'approved');
    const second = await api<{ error: { code: string } }>(server.url, 'POST', `/api/approvals/${approval.id}/resolve`, { resolution: 'rejected' });
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, 'APPROVAL_ALREADY_RESOLVED');

    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'review', 30_000, 'review');
    sse.close();

    const final = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
    assert.equal(final.state, 'review');
    assert.ok(final.agentSessionId, 'the CLI session id is stored on the job');
    assert.equal(readFileSync(join(final.worktreePath, 'hello.txt'), 'utf8').trim(), 'hi from the agent');
    assert.equal(existsSync(join(repo, 'hello.txt')), false, "the user's checkout is untouched");
    assert.equal(git(repo, 'status', '--porcelain'), '');
    assert.equal(git(final.worktreePath, 'rev-parse', '--abbrev-ref', 'HEAD'), final.branch);

    const states = sse.events.filter((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id).map((e) => `${e.data['from']}>${e.data['to']}`);
    assert.deepEqual(states, ['queued>preparing', 'preparing>running', 'running>waiting_for_approval', 'waiting_for_approval>running', 'running>review']);
    const ids = sse.events.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'SSE ids strictly increase');
    assert.equal(new Set(ids).size, ids.length);

    const snap = await api<{ transcript: { role: string; toolName?: string; text?: string }[]; lastEventId: number }>(server.url, 'GET', `/api/jobs/${job.id}/snapshot`);
    const roles = snap.body.transcript.map((t) => t.role);
    assert.ok(roles.includes('tool_call') && roles.includes('tool_result') && roles.includes('agent'), roles.join(','));
    assert.ok(snap.body.lastEventId >= ids.at(-1)!);
  });

  it('a rejection note reaches the agent, which continues to review', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[write nope.txt nothing]]', agent: 'claude' });
    const requested = await sse.waitFor((e) => e.event === 'approval_requested' && e.data['jobId'] === job.id, 30_000);
    const approvalId = (requested.data['approval'] as { id: string }).id;
    await api(server.url, 'POST', `/api/approvals/${approvalId}/resolve`, { resolution: 'rejected', note: 'write it under docs/ instead' });
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'review', 30_000);
    sse.close();
    const final = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
    assert.equal(existsSync(join(final.worktreePath, 'nope.txt')), false);
    const transcript = (await api<{ role: string; text?: string; toolOutput?: string }[]>(server.url, 'GET', `/api/jobs/${job.id}/transcript`)).body;
    assert.ok(transcript.some((t) => t.role === 'tool_result' && t.toolOutput?.includes('write it under docs/ instead')), 'the note is the deny message');
  });

  it('a crashing agent fails the job with the stderr tail as the reason', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'please [[crash]]', agent: 'claude' });
    const failed = await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'failed', 30_000);
    sse.close();
    assert.match(String(failed.data['reason']), /exited with code 3/);
    const final = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
    assert.equal(final.state, 'failed');
    assert.match(final.failureReason ?? '', /exited with code 3/);
  });

  it('an error result fails the job with the error text', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[error]]', agent: 'claude' });
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'failed', 30_000);
    sse.close();
    const final = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
    assert.match(final.failureReason ?? '', /simulated failure/);
  });

  it('a follow-up message reaches the same agent session and returns to review', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'say hello', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'review', 30_000);
    const first = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
    const res = await api(server.url, 'POST', `/api/jobs/${job.id}/messages`, { content: 'and goodbye' });
    assert.equal(res.status, 202);
    await sse.waitFor((e) => e.event === 'transcript_update' && e.data['jobId'] === job.id && String((e.data['entry'] as { text?: string }).text).includes('echo: and goodbye'), 30_000);
    const reviews = () => sse.events.filter((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'review').length;
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'review' && reviews() === 2, 30_000);
    sse.close();
    const after = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
    assert.equal(after.agentSessionId, first.agentSessionId);
  });

  it('cancels a running job', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 400]]', agent: 'claude' });
    await sse.waitFor((e) => e.event === 'transcript_update' && e.data['jobId'] === job.id, 30_000);
    const res = await api<Job>(server.url, 'POST', `/api/jobs/${job.id}/cancel`);
    assert.equal(res.status, 200);
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'canceled', 30_000);
    sse.close();
    const again = await api<{ error: { code: string } }>(server.url, 'POST', `/api/jobs/${job.id}/cancel`);
    assert.equal(again.status, 409);
  });
});
