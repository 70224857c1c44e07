import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { LineSplitter, encodeFrame } from '../../machines/ipc-framing.ts';
import { PROTOCOL_VERSION, type SupervisorMessage } from '../../machines/ipc-protocol.ts';
import { WorkerChannel } from '../../workers/channel.ts';
import { Outbox } from '../../workers/outbox.ts';
import { waitFor } from '../helpers/processes.ts';

/** A raw socket speaking the protocol by hand, so the worker's end is tested as a supervisor sees it. */
class RawPeer {
  readonly received: Record<string, unknown>[] = [];
  private constructor(readonly socket: Socket) {}
  static async open(path: string): Promise<RawPeer> {
    const socket = connect(path);
    await new Promise((r, j) => socket.once('connect', r).once('error', j));
    const peer = new RawPeer(socket);
    const splitter = new LineSplitter();
    socket.setEncoding('utf8').on('data', (c: string) => splitter.push(c).forEach((l) => peer.received.push(JSON.parse(l) as Record<string, unknown>)));
    return peer;
  }
  send(m: SupervisorMessage | Record<string, unknown> | string): void {
    this.socket.write(typeof m === 'string' ? `${m}\n` : encodeFrame(m));
  }
  async until(pred: (m: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const hit = this.received.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.received)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  closed(): Promise<void> {
    return new Promise((r) => (this.socket.destroyed ? r() : this.socket.once('close', () => r())));
  }
}

const commands: unknown[] = [];
let channel: WorkerChannel | undefined;

async function open(started = true): Promise<{ path: string; outbox: Outbox }> {
  const dir = mkdtempSync(join(tmpdir(), 'cpl-ipc-'));
  const path = join(dir, 'w.sock');
  channel = new WorkerChannel(path, 'job1', { onCommand: (m) => commands.push(m), isStarted: () => started, pendingApprovals: () => ['a9'], log: () => undefined });
  await channel.listen();
  const outbox = new Outbox(1);
  channel.setOutbox(outbox);
  return { path, outbox };
}
const log = (message: string) => ({ type: 'log_line' as const, level: 'info' as const, message });

afterEach(async () => {
  await channel?.close();
  commands.length = 0;
});

describe('worker IPC channel', () => {
  it('listens on a socket only its user can open', async () => {
    const { path } = await open();
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it('handshakes, then sends events and drops them once acknowledged', async () => {
    const { path, outbox } = await open();
    const peer = await RawPeer.open(path);
    peer.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, lastPersistedSeq: 0 });
    const ack = await peer.until((m) => m['type'] === 'hello_ack', 'hello_ack');
    assert.deepEqual({ ...ack, pid: 0 }, { type: 'hello_ack', protocolVersion: PROTOCOL_VERSION, jobId: 'job1', pid: 0, started: true, pendingApprovals: ['a9'] });
    outbox.add(log('a'));
    outbox.add(log('b'));
    channel!.scheduleFlush();
    const batch = await peer.until((m) => m['type'] === 'events', 'events');
    assert.deepEqual((batch['events'] as { seq: number }[]).map((e) => e.seq), [1, 2]);
    peer.send({ type: 'ack', seq: 2 });
    await waitFor(() => outbox.size === 0, 5000, 'the acknowledged events dropped from the outbox');
    peer.socket.destroy();
  });

  it('re-sends unacknowledged events to a supervisor that reconnects, skipping what it persisted', async () => {
    const { path, outbox } = await open();
    for (const m of ['a', 'b', 'c']) outbox.add(log(m));
    const first = await RawPeer.open(path);
    first.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, lastPersistedSeq: 0 });
    await first.until((m) => m['type'] === 'events', 'events');
    first.socket.destroy(); // the supervisor dies before acknowledging

    const second = await RawPeer.open(path);
    second.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, lastPersistedSeq: 1 });
    const batch = await second.until((m) => m['type'] === 'events', 'events');
    assert.deepEqual((batch['events'] as { seq: number }[]).map((e) => e.seq), [2, 3]);
    assert.equal(outbox.size, 2);
    second.socket.destroy();
  });

  it('refuses a supervisor speaking another protocol version', async () => {
    const { path } = await open();
    const peer = await RawPeer.open(path);
    peer.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION + 1, lastPersistedSeq: 0 });
    const err = await peer.until((m) => m['type'] === 'protocol_error', 'protocol_error');
    assert.match(String(err['message']), /protocol version/);
    await peer.closed();
  });

  it('refuses commands before the handshake', async () => {
    const { path } = await open();
    const peer = await RawPeer.open(path);
    peer.send({ type: 'follow_up', content: 'hi' });
    await peer.until((m) => m['type'] === 'protocol_error', 'protocol_error');
    assert.deepEqual(commands, []);
  });

  it('refuses lines that are not JSON or not a known message, without crashing', async () => {
    for (const bad of ['not json at all', JSON.stringify({ type: 'launch_missiles' }), JSON.stringify({ type: 'approval_decision', approvalId: 'a', resolution: 'maybe' })]) {
      const { path } = await open();
      const peer = await RawPeer.open(path);
      peer.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, lastPersistedSeq: 0 });
      await peer.until((m) => m['type'] === 'hello_ack', 'hello_ack');
      peer.send(bad);
      await peer.until((m) => m['type'] === 'protocol_error', `protocol_error for ${bad}`);
      assert.deepEqual(commands, []);
      await channel!.close();
    }
  });

  it('passes decoded commands on after the handshake', async () => {
    const { path } = await open();
    const peer = await RawPeer.open(path);
    peer.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, lastPersistedSeq: 0 });
    await peer.until((m) => m['type'] === 'hello_ack', 'hello_ack');
    peer.send({ type: 'approval_decision', approvalId: 'a1', resolution: 'rejected', note: 'no' });
    await waitFor(() => commands.length > 0, 5000, 'the decoded command');
    assert.deepEqual(commands, [{ type: 'approval_decision', approvalId: 'a1', resolution: 'rejected', note: 'no' }]);
    peer.socket.destroy();
  });
});
