import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

/** A client that stops reading is cut off; everybody else keeps streaming. */
describe('a slow SSE client', () => {
  let server: ServerProcess;
  let repo: string;
  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({ cwd: repo, env: { CPL_SSE_MAX_BUFFER_BYTES: String(1024 * 1024), CPL_SSE_SLOW_CLIENT_MS: '1000', CPL_SSE_HEARTBEAT_MS: '200' } });
  });
  after(async () => {
    await server?.stop();
  });

  it('is disconnected without slowing the others', async () => {
    const url = new URL(server.url);
    // A raw client that sends its request and then never reads a byte.
    const slow = connect(Number(url.port), url.hostname);
    slow.write(`GET /api/events?lastEventId=${1_000_000_000} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`);
    slow.pause();
    await new Promise((r) => setTimeout(r, 200));
    const fast = await SseClient.open(`${server.url}/api/events`);

    // ~12 MB of tool output (2 MB of 'x\\n' is 3 MB as JSON) in events: far beyond socket buffers plus the 1 MB allowance.
    const big = '[[bash yes x | head -c 2000000]]';
    const jobs: Job[] = [];
    for (let i = 0; i < 4; i++) jobs.push((await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: big, agent: 'claude', permissionMode: 'full_auto' })).body);
    for (const job of jobs)
      await fast.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'review', 60_000, `review of ${job.id}`);
    const outputs = fast.events.filter((e) => e.event === 'transcript_update' && String((e.data['entry'] as { toolOutput?: string }).toolOutput ?? '').length >= 2_000_000);
    assert.equal(outputs.length, 4, 'the fast client received every large event');
    fast.close();

    // Now read what the slow client was given: a cut stream, then the end of the connection.
    let received = 0;
    const closed = new Promise<void>((resolve) => slow.on('close', () => resolve()));
    slow.on('data', (c: Buffer) => (received += c.length));
    slow.on('error', () => undefined);
    slow.resume();
    await closed;
    assert.ok(received < 12_000_000, `the slow client was cut off (received ${received} bytes)`);
    const health = await api<{ status: string }>(server.url, 'GET', '/api/health');
    assert.equal(health.body.status, 'ok');
  });
});
