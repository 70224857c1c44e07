import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

/** The most a loopback connection can absorb in kernel buffers: the receiver's tcp_rmem max plus the sender's tcp_wmem max. */
function kernelBufferMax(): number {
  const max = (f: string) => {
    try {
      return Number(readFileSync(`/proc/sys/net/ipv4/${f}`, 'utf8').trim().split(/\s+/)[2]) || 0;
    } catch {
      return 0;
    }
  };
  return max('tcp_rmem') + max('tcp_wmem');
}

/** A raw SSE connection that counts what it is sent; `paused` ones read nothing until resumed. */
function rawEvents(server: ServerProcess, paused: boolean): { socket: Socket; received(): number; closed: Promise<void>; isClosed(): boolean } {
  const url = new URL(server.url);
  const socket = connect(Number(url.port), url.hostname);
  let received = 0;
  let isClosed = false;
  socket.write(`GET /api/events?lastEventId=${1_000_000_000} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`);
  socket.on('data', (c: Buffer) => (received += c.length));
  socket.on('error', () => undefined);
  if (paused) socket.pause();
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  void closed.then(() => (isClosed = true));
  return { socket, received: () => received, closed, isClosed: () => isClosed };
}

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
    const slow = rawEvents(server, true); // sends its request, then never reads a byte
    const fast = rawEvents(server, false); // reads everything at once
    await new Promise((r) => setTimeout(r, 200));

    // Tool output in events far beyond what the kernel can hold for the stalled client (its receive
    // buffer grows up to tcp_rmem's max, 32 MB on some machines, plus our send buffer) and the 1 MB
    // allowance: 'x\n' is 1.5 bytes of JSON per byte; four jobs, half again as much as needed.
    const perJob = Math.max(2_000_000, Math.ceil((kernelBufferMax() + 1024 * 1024) / 4));
    const big = `[[bash yes x | head -c ${perJob}]]`;
    const jobs: Job[] = [];
    for (let i = 0; i < 4; i++) jobs.push((await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: big, agent: 'claude', permissionMode: 'full_auto' })).body);
    const deadline = Date.now() + 120_000;
    for (const job of jobs) {
      while ((await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.state !== 'review') {
        assert.ok(Date.now() < deadline, `job ${job.id} reached review`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // The last frames are still on their way on a loaded machine: wait for them a bounded time.
    const total = 4 * perJob * 1.5;
    const drainBy = Date.now() + 60_000;
    while (fast.received() < total && !fast.isClosed() && Date.now() < drainBy) await new Promise((r) => setTimeout(r, 50));
    assert.equal(fast.isClosed(), false, 'the client that keeps up is still connected');
    assert.ok(fast.received() >= total, `the client that keeps up received every large event (${fast.received()} of ${total} bytes)`);
    fast.socket.destroy();

    // Now read what the slow client was given: a cut stream, then the end of the connection.
    slow.socket.resume();
    // Not cut off, it would stream on forever: wait for the end a bounded time.
    await Promise.race([slow.closed, new Promise((r) => setTimeout(r, 30_000))]);
    assert.ok(slow.isClosed(), `the server ended the slow client's stream (it received ${slow.received()} bytes)`);
    assert.ok(slow.received() < total, `the slow client was cut off (received ${slow.received()} of ${total} bytes)`);
    const health = await api<{ status: string }>(server.url, 'GET', '/api/health');
    assert.equal(health.body.status, 'ok');
  });
});
