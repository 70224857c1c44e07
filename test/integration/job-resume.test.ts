import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient, type SseEvent } from '../helpers/sse-client.ts';
import { waitFor, workerPids } from '../helpers/processes.ts';

const to = (jobId: string, state: string, nth = 1) => {
  let seen = 0;
  return (e: SseEvent) => e.event === 'job_state_changed' && e.data['jobId'] === jobId && e.data['to'] === state && ++seen === nth;
};

describe('resuming a job', () => {
  let repo: string;
  let server: ServerProcess;
  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({ cwd: repo });
  });
  after(async () => {
    await server?.stop();
  });

  const run = async (prompt: string, until: string) => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt, agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor(to(job.id, until), 30_000, until);
    return { sse, job: (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body };
  };

  it('a failed job resumes its own agent session with the instruction and reaches review', async () => {
    const { sse, job } = await run('[[error]]', 'failed');
    assert.ok(job.agentSessionId);
    const res = await api<Job>(server.url, 'POST', `/api/jobs/${job.id}/resume`, { instruction: 'try once more' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await sse.waitFor(to(job.id, 'review'), 30_000, 'review');
    await sse.waitFor((e) => e.event === 'transcript_update' && e.data['jobId'] === job.id && /echo: try once more/.test(String((e.data['entry'] as { text?: string }).text)), 30_000);
    sse.close();
    const after = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
    assert.equal(after.agentSessionId, job.agentSessionId, 'same agent session');
    assert.equal(after.failureReason, undefined, 'the failure is cleared');
  });

  it('a canceled job resumes', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 300]]', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor((e) => e.event === 'transcript_update' && e.data['jobId'] === job.id && (e.data['entry'] as { role: string }).role === 'agent_delta', 30_000);
    await api(server.url, 'POST', `/api/jobs/${job.id}/cancel`);
    await sse.waitFor(to(job.id, 'canceled'), 30_000, 'canceled');
    await waitFor(() => workerPids(job.id).length === 0, 30_000, 'the worker to exit after the cancel');
    const res = await api<Job>(server.url, 'POST', `/api/jobs/${job.id}/resume`, { instruction: 'finish quickly' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await sse.waitFor(to(job.id, 'review'), 30_000, 'review');
    sse.close();
  });

  it('a vanished agent session falls back to a fresh one primed with a summary, and says so', async () => {
    // (A prompt with a directive would replay it from the summary: use a plain one, canceled in review.)
    const { sse, job } = await run('say hello', 'review');
    await api(server.url, 'POST', `/api/jobs/${job.id}/cancel`);
    await sse.waitFor(to(job.id, 'canceled'), 30_000, 'canceled');
    // The CLI lost its session files: in the user's config dir, or (a sandboxed job) in the job's own one.
    for (const dir of [join(server.home, '.claude'), join(server.home, 'jobs', job.id, 'agent-home')]) rmSync(join(dir, 'projects'), { recursive: true, force: true });
    await api(server.url, 'POST', `/api/jobs/${job.id}/resume`, {});
    const note = await sse.waitFor((e) => e.event === 'transcript_update' && e.data['jobId'] === job.id && (e.data['entry'] as { role: string }).role === 'system', 30_000, 'fallback note');
    assert.match(String((note.data['entry'] as { text: string }).text), /could not be resumed; started a fresh session/);
    await sse.waitFor(to(job.id, 'review'), 30_000, 'review');
    const echo = await sse.waitFor((e) => e.event === 'transcript_update' && e.data['jobId'] === job.id && String((e.data['entry'] as { text?: string }).text).startsWith('echo: You are continuing a coding task'), 30_000);
    assert.match(String((echo.data['entry'] as { text: string }).text), /The task: say hello/);
    sse.close();
    const after = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
    assert.notEqual(after.agentSessionId, job.agentSessionId, 'a new agent session');
  });

  it('a job in review resumes in the same session', async () => {
    const { sse, job } = await run('hello', 'review');
    await api(server.url, 'POST', `/api/jobs/${job.id}/resume`, { instruction: 'and add tests' });
    await sse.waitFor(to(job.id, 'review', 2), 30_000, 'second review');
    sse.close();
    assert.equal((await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.agentSessionId, job.agentSessionId);
  });

  it('refuses to resume a running job or an unknown one', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 300]]', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor(to(job.id, 'running'), 30_000);
    const res = await api<{ error: { code: string } }>(server.url, 'POST', `/api/jobs/${job.id}/resume`, {});
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'INVALID_STATE');
    assert.equal((await api(server.url, 'POST', '/api/jobs/jnope/resume', {})).status, 404);
    await api(server.url, 'POST', `/api/jobs/${job.id}/cancel`);
    sse.close();
  });
});
