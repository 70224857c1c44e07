import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { waitFor, workerPids } from '../helpers/processes.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient, type SseEvent } from '../helpers/sse-client.ts';

/**
 * The OTP-style restart budget, end to end: a worker that keeps dying is restarted 3 times within
 * 60 s, and the 4th death fails the job with the budget as its reason (a job crashing in a loop
 * must not be restarted forever). Each new worker is killed as soon as it exists, before its agent
 * can finish the turn.
 */
describe('restart budget', () => {
  let server: ServerProcess;
  let repo: string;
  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({ cwd: repo });
  });
  after(async () => {
    await server?.stop();
  });

  it('a worker killed once mid-turn is restarted, and the job that reaches review carries no failure reason', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 60]]', agent: 'claude', permissionMode: 'full_auto' });
    const isJob = (e: SseEvent) => e.data['jobId'] === job.id;
    await sse.waitFor((e) => isJob(e) && e.event === 'transcript_update' && (e.data['entry'] as { role: string }).role === 'agent_delta', 90_000, 'the agent streaming');
    const [first] = workerPids(job.id);
    assert.ok(first, 'a worker runs the job');
    process.kill(first, 'SIGKILL');
    await sse.waitFor((e) => isJob(e) && e.event === 'transcript_update' && /restarted it \(restart 1\)/.test(String((e.data['entry'] as { text?: string }).text)), 60_000, 'the recovery note');
    const settled = await sse.waitFor((e) => isJob(e) && e.event === 'job_state_changed' && ['review', 'failed'].includes(String(e.data['to'])), 90_000, 'review');
    sse.close();
    assert.equal(settled.data['to'], 'review', JSON.stringify(settled.data));
    const { body: after } = await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`);
    assert.equal(after.state, 'review');
    assert.equal(after.failureReason, undefined, 'no reason of a failure the job recovered from');
  });

  it('a worker killed four times within the period: three restarts, then the job fails with the budget reason', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 400]]', agent: 'claude', permissionMode: 'full_auto' });
    const isJob = (e: SseEvent) => e.data['jobId'] === job.id;
    await sse.waitFor((e) => isJob(e) && e.event === 'transcript_update' && (e.data['entry'] as { role: string }).role === 'agent_delta', 90_000, 'the agent streaming');
    const killed: number[] = [];
    for (let death = 1; death <= 4; death++) {
      await waitFor(() => workerPids(job.id).some((p) => !killed.includes(p)), 30_000, `worker ${death}`);
      const pid = workerPids(job.id).find((p) => !killed.includes(p))!;
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    }
    const failed = await sse.waitFor((e) => isJob(e) && e.event === 'job_state_changed' && e.data['to'] === 'failed', 30_000, 'failed');
    sse.close();
    const reason = /crashed 4 times within 60 s; giving up \(restart budget 3 per 60 s\)/;
    assert.match(String(failed.data['reason']), reason);
    const { body: after } = await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`);
    assert.equal(after.state, 'failed');
    assert.match(after.failureReason ?? '', reason);
    await waitFor(() => workerPids(job.id).length === 0, 10_000, 'no worker left');
    assert.equal(killed.length, 4, 'the first worker and three restarts, no fifth');
  });
});
