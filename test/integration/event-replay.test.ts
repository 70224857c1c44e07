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
    // Stays connected throughout: it tells when events were stored while `first` was away.
    const watcher = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`);
    // Drop the connection mid-stream, after some deltas have arrived.
    await first.waitFor(() => first.events.filter((e) => e.event === 'transcript_update').length >= 10, 30_000, '10 deltas');
    first.close();
    const cut = first.lastId;
    const seen = [...first.events];

    // Events keep flowing while we are away: reconnect once several were stored after the cut.
    await watcher.waitFor(() => watcher.events.filter((e) => e.id > cut).length >= 5, 30_000, 'events stored while away');
    watcher.close();
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

/**
 * A replay longer than one page is written page by page: a client that missed several pages gets
 * every one of them, then the live stream, with no gap at a page boundary. A small page size makes
 * a short job span many pages.
 */
describe('SSE replay across many pages', () => {
  const PAGE = 7;
  let server: ServerProcess;
  let repo: string;

  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({ cwd: repo, env: { CPL_SSE_REPLAY_PAGE: String(PAGE) } });
  });
  after(async () => {
    await server?.stop();
  });

  it('a client that missed several pages receives every event once, in order, with no gap', async () => {
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 40]]', agent: 'claude', permissionMode: 'full_auto' });
    const watch = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`);
    await watch.waitFor(isReview(job.id), 60_000, 'review');
    watch.close();
    const { body: snap } = await api<{ lastEventId: number }>(server.url, 'GET', `/api/jobs/${job.id}/snapshot`);
    const last = snap.lastEventId;

    // From the very start: every per-job seq from 1, the last stored event included.
    const full = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`, 0);
    await full.waitFor((e) => e.id === last, 60_000, `event ${last}, the last stored one`);
    full.close();
    const seqs = full.events.map((e) => Number(e.data['seq']));
    assert.ok(seqs.length > 4 * PAGE, `the replay spans several pages (${seqs.length} events)`);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'no per-job gap, no duplicate');
    const ids = full.events.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.equal(new Set(ids).size, ids.length);

    // From the middle of a page: exactly the events after it.
    const cut = ids[Math.floor(ids.length / 2) + 3]!;
    const rest = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`, cut);
    await rest.waitFor((e) => e.id === last, 60_000, `event ${last} after resuming from ${cut}`);
    rest.close();
    assert.deepEqual(rest.events.map((e) => e.id), ids.filter((id) => id > cut));

    // The all-jobs stream pages the same way: this job's events appear whole within it.
    const all = await SseClient.open(`${server.url}/api/events`, 0);
    await all.waitFor((e) => e.id === last, 60_000, `event ${last} on the all-jobs stream`);
    all.close();
    assert.deepEqual(all.events.filter((e) => e.data['jobId'] === job.id).map((e) => e.id), ids);
    assert.equal(all.events.at(-1)?.id, last, 'no event beyond the last stored one was invented');
  });

  it('a replay that overlaps live events sends each of them once (those stored during the replay too)', async () => {
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[burst 3000 1000]]', agent: 'claude', permissionMode: 'full_auto' });
    const first = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`);
    await first.waitFor((e) => e.event === 'transcript_update' && Number(e.data['seq']) > 300, 60_000, 'the burst under way');
    first.close();
    // Replaying hundreds of small pages while a thousand events a second keep arriving: events
    // published meanwhile are queued, and the ones the replay already sent must not go out twice.
    const c = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`, 0);
    await c.waitFor(isReview(job.id), 60_000, 'review');
    c.close();
    const ids = c.events.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no event sent twice');
    const seqs = c.events.map((e) => Number(e.data['seq']));
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'no gap, no duplicate');
  });
});
