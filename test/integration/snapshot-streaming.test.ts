import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job, JobSnapshot } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient, type SseEvent } from '../helpers/sse-client.ts';

const delta = (jobId: string) => (e: SseEvent) =>
  e.event === 'transcript_update' && e.data['jobId'] === jobId && (e.data['entry'] as { role: string }).role === 'agent_delta';

describe('a job page opened in the middle of a streamed message', () => {
  let repo: string;
  let server: ServerProcess;
  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({ cwd: repo });
  });
  after(async () => {
    await server?.stop();
  });

  it('gets the message so far in the snapshot, and the stream after it completes it exactly', async () => {
    const watch = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'count [[slow 60]]', agent: 'claude', permissionMode: 'full_auto' });
    // Wait until a few ticks are out, then "open the page": snapshot, then the job's stream from its lastEventId.
    await watch.waitFor((e) => delta(job.id)(e) && /tick 3 /.test(String((e.data['entry'] as { text?: string }).text)), 30_000, 'tick 3');
    const { body: snap } = await api<JobSnapshot>(server.url, 'GET', `/api/jobs/${job.id}/snapshot`);
    assert.match(snap.streaming ?? '', /^tick 0 tick 1 tick 2 tick 3 /, 'the deltas so far, from the start of the message');
    assert.ok(!snap.transcript.some((e) => e.role === 'agent_delta'), 'the transcript itself holds no deltas');
    const page = await SseClient.open(`${server.url}/api/events?jobId=${job.id}&lastEventId=${snap.lastEventId}`);
    const final = await page.waitFor((e) => e.event === 'transcript_update' && (e.data['entry'] as { role: string }).role === 'agent', 60_000, 'final message');
    const rest = page.events.filter(delta(job.id)).map((e) => String((e.data['entry'] as { text?: string }).text ?? '')).join('');
    assert.equal(`${snap.streaming}${rest}`, String((final.data['entry'] as { text?: string }).text), 'snapshot + live deltas = the whole message, nothing missing or doubled');
    page.close();
    watch.close();
    const { body: done } = await api<JobSnapshot>(server.url, 'GET', `/api/jobs/${job.id}/snapshot`);
    assert.equal(done.streaming, undefined, 'nothing in flight once the message is complete');
  });
});
