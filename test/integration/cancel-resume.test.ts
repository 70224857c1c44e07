import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

describe('cancel, then resume at once', () => {
  it('the cancel answers with the state the job went to, and a resume sent right after it waits for the stop instead of refusing', async () => {
    const repo = makeRepo();
    const server = await startServerProcess({ cwd: repo });
    servers.push(server);
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[hang]]', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor((e) => e.event === 'session_started' && e.data['jobId'] === job.id, 60_000, 'the agent at work');

    const canceled = await api<Job>(server.url, 'POST', `/api/jobs/${job.id}/cancel`);
    assert.equal(canceled.status, 200);
    assert.equal(canceled.body.state, 'canceled', 'the answer shows where the job went, not "running"');

    const resumed = await api<Job & { error?: { code: string } }>(server.url, 'POST', `/api/jobs/${job.id}/resume`, { instruction: 'carry on' });
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.ok(['preparing', 'running'].includes(resumed.body.state), resumed.body.state);
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['from'] === 'canceled', 60_000, 'the job left canceled');
    sse.close();
  });

  it('canceling a queued job answers canceled at once', async () => {
    const repo = makeRepo();
    const server = await startServerProcess({ cwd: repo });
    servers.push(server);
    const sse = await SseClient.open(`${server.url}/api/events`);
    // Two jobs per repository by default: the third waits in the queue.
    const hang = async () => (await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[hang]]', agent: 'claude', permissionMode: 'full_auto' })).body;
    const a = await hang();
    const b = await hang();
    const queued = await hang();
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === b.id && e.data['to'] === 'running', 60_000, 'second job running');
    assert.equal((await api<Job>(server.url, 'GET', `/api/jobs/${queued.id}`)).body.state, 'queued');
    const canceled = await api<Job>(server.url, 'POST', `/api/jobs/${queued.id}/cancel`);
    assert.equal(canceled.body.state, 'canceled');
    for (const j of [a, b]) assert.equal((await api<Job>(server.url, 'POST', `/api/jobs/${j.id}/cancel`)).body.state, 'canceled');
    sse.close();
  });
});
