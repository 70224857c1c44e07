import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient, type SseEvent } from '../helpers/sse-client.ts';

const isReview = (jobId: string) => (e: SseEvent) => e.event === 'job_state_changed' && e.data['jobId'] === jobId && e.data['to'] === 'review';

/** A browser that drops the stream mid-job and reconnects misses nothing and sees nothing twice. */
describe('SSE replay after a reconnect', () => {
  let server: ServerProcess;
  let repo: string;

  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({ cwd: repo, env: { CPL_SSE_HEARTBEAT_MS: '200' } });
  });
  after(async () => {
    await server?.stop();
  });

  it('resumes from Last-Event-ID with every missed event exactly once, in order', async () => {
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 60]]', agent: 'claude', permissionMode: 'full_auto' });
    const first = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`);
    // Drop the connection mid-stream, after some deltas have arrived.
    await first.waitFor(() => first.events.filter((e) => e.event === 'transcript_update').length >= 10, 30_000, '10 deltas');
    first.close();
    const cut = first.lastId;
    const seen = [...first.events];

    await new Promise((r) => setTimeout(r, 300)); // events keep flowing while we are away
    const second = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`, cut);
    await second.waitFor(isReview(job.id), 30_000, 'review');
    second.close();

    const combined = [...seen, ...second.events];
    const ids = combined.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicate');
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'in order');
    const seqs = combined.map((e) => Number(e.data['seq']));
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'per-job seqs have no gap');
    assert.ok(second.events[0]!.id > cut);

    // The same events, replayed from the very start by a fresh client.
    const full = await SseClient.open(`${server.url}/api/events?jobId=${job.id}&lastEventId=0`);
    await full.waitFor(isReview(job.id), 30_000, 'review in full replay');
    full.close();
    assert.deepEqual(full.events.slice(0, combined.length).map((e) => e.id), ids);
    assert.deepEqual(full.events.slice(0, combined.length).map((e) => e.data), combined.map((e) => e.data));
  });

  it('replays a very old id across many pages without a gap', async () => {
    const all = await SseClient.open(`${server.url}/api/events`, 0);
    await all.waitFor(() => true, 30_000, 'the first replayed event');
    await new Promise((r) => setTimeout(r, 500)); // more pages
    all.close();
    const ids = all.events.map((e) => e.id);
    assert.ok(ids.length > 0);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.equal(new Set(ids).size, ids.length);
  });

  it('sends retry and heartbeat comments', async () => {
    const c = await SseClient.open(`${server.url}/api/events`, 1_000_000_000);
    const by = Date.now() + 30_000; // a loaded machine may be late; the heartbeat period is short
    while (c.comments < 2 && Date.now() < by) await new Promise((r) => setTimeout(r, 50));
    c.close();
    assert.equal(c.retry, 2000);
    assert.ok(c.comments >= 2, `heartbeats: ${c.comments}`);
    assert.equal(c.status, 200);
  });

  it('a job stream only carries that job', async () => {
    const { body: a } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'one', agent: 'claude', permissionMode: 'full_auto' });
    const { body: b } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'two', agent: 'claude', permissionMode: 'full_auto' });
    const sa = await SseClient.open(`${server.url}/api/events?jobId=${a.id}`);
    const all = await SseClient.open(`${server.url}/api/events`);
    await sa.waitFor(isReview(a.id), 30_000);
    await all.waitFor(isReview(b.id), 30_000);
    sa.close();
    all.close();
    assert.ok(sa.events.every((e) => e.data['jobId'] === a.id));
    assert.ok(all.events.some((e) => e.data['jobId'] === b.id));
  });
});
