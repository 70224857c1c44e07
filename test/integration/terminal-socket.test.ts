/**
 * The terminal WebSocket's own duties, in-process against a stand-in shell so
 * output can be produced faster than any pty: a reader that falls behind
 * pauses the shell and is cut off when it stays behind, one that catches up
 * resumes it, a peer that stops answering pings is dropped, and credentials
 * that stop being valid end the terminal.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { WebSocket } from 'ws';
import { HostPolicy } from '../../api/host-guard.ts';
import type { AuthPort, TerminalSink, TerminalsPort } from '../../api/ports.ts';
import { terminalUpgradeHandler } from '../../api/terminal-upgrade.ts';
import { waitFor } from '../helpers/processes.ts';

const HIGH_WATER = 64 * 1024;
const CHUNK = 'x'.repeat(64 * 1024);

/** A stand-in for the job shell: records what the socket tells it, and lets the test write output. */
class FakeTerminals implements TerminalsPort {
  calls: string[] = [];
  sink: TerminalSink | undefined;
  check(): void {}
  attach(_jobId: string, sink: TerminalSink) {
    this.sink = sink;
    this.calls = [];
    return {
      input: (d: string | Buffer) => void this.calls.push(`input:${d.toString()}`),
      resize: (c: number, r: number) => void this.calls.push(`resize:${c}x${r}`),
      backedUp: (on: boolean) => void this.calls.push(`backedUp:${on}`),
      detach: () => void this.calls.push('detach'),
    };
  }
}

describe('terminal socket', { timeout: 60_000 }, () => {
  const terminals = new FakeTerminals();
  let tokenValid = true;
  const auth: AuthPort = { required: () => true, login: async () => undefined, logout: () => {}, sessionValid: () => false, tokenValid: () => tokenValid, newDeviceCookie: () => '', deviceOf: () => undefined };
  const servers: Server[] = [];
  let base: string;

  /** A server with just the terminal upgrade handler; `base` points at the newest. */
  async function serve(options: { slowClientMs: number; keepAliveMs: number }): Promise<void> {
    const server = createServer((_req, res) => res.end());
    server.on('upgrade', terminalUpgradeHandler({ hosts: new HostPolicy(), auth, terminals, log: pino({ level: 'silent' }), options: { highWaterBytes: HIGH_WATER, ...options } }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  after(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  /** A client that completes the handshake and then does whatever the test says with the raw socket (no pongs, no reading). */
  const rawClient = (): Promise<Duplex> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: base.split(':')[1], path: '/api/jobs/j1/terminal', headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), authorization: 'Bearer t' } });
      req.on('upgrade', (res, socket) => (res.statusCode === 101 ? resolve(socket) : reject(new Error(String(res.statusCode)))));
      req.on('response', (res) => reject(new Error(`refused with ${res.statusCode}`)));
      req.end();
    });

  /** Writes output until the socket reports being backed up (the kernel's buffers fill first). */
  async function fillUntilBackedUp(): Promise<void> {
    for (let i = 0; i < 2000 && !terminals.calls.includes('backedUp:true'); i++) {
      terminals.sink!.output(CHUNK);
      if (i % 16 === 15) await new Promise((r) => setImmediate(r));
    }
    assert.ok(terminals.calls.includes('backedUp:true'), `backed up: ${terminals.calls.join(', ')}`);
  }

  it('pauses the shell for a reader that stops reading, and drops it when it stays behind', async () => {
    // Pings are rare here: only the slow-reader rule can drop this client.
    await serve({ slowClientMs: 400, keepAliveMs: 60_000 });
    const socket = await rawClient();
    socket.pause();
    await waitFor(() => terminals.sink !== undefined, 5000, 'the attachment');
    await fillUntilBackedUp();
    // slowClientMs (400) to send the close, then at most 2 s for a peer that never answers it.
    await waitFor(() => terminals.calls.includes('detach'), 5000, 'the slow reader to be dropped');
    assert.deepEqual(terminals.calls, ['backedUp:true', 'detach']);
    socket.destroy();
  });

  it('resumes the shell when the reader catches up, and keeps it', async () => {
    terminals.sink = undefined;
    const socket = await rawClient();
    socket.pause();
    await waitFor(() => terminals.sink !== undefined, 5000, 'the attachment');
    await fillUntilBackedUp();
    socket.resume();
    socket.on('data', () => undefined);
    await waitFor(() => terminals.calls.includes('backedUp:false'), 5000, 'the reader to catch up');
    assert.ok(!terminals.calls.includes('detach'), terminals.calls.join(', '));
    socket.destroy();
    await waitFor(() => terminals.calls.includes('detach'), 5000, 'detach on close');
  });

  it('drops a peer that stops answering pings', async () => {
    await serve({ slowClientMs: 60_000, keepAliveMs: 150 });
    terminals.sink = undefined;
    const socket = await rawClient();
    socket.on('data', () => undefined); // reads, but never sends a pong
    await waitFor(() => terminals.sink !== undefined, 5000, 'the attachment');
    await waitFor(() => terminals.calls.includes('detach'), 3000, 'the silent peer to be dropped');
    socket.destroy();
  });

  it('ends the terminal (4401) when its credentials stop being valid, and passes input and resizes on until then', async () => {
    terminals.sink = undefined;
    const ws = new WebSocket(`ws://${base}/api/jobs/j1/terminal`, { headers: { authorization: 'Bearer t' } });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    await new Promise((r) => ws.once('open', r));
    ws.send(Buffer.from('ls\r'));
    ws.send(JSON.stringify({ type: 'resize', cols: 120, rows: 40 }));
    ws.send(JSON.stringify({ type: 'input', data: 'pwd\r' }));
    await waitFor(() => terminals.calls.length >= 3, 5000, 'the messages');
    assert.deepEqual(terminals.calls.slice(0, 3), ['input:ls\r', 'resize:120x40', 'input:pwd\r']);
    tokenValid = false;
    const { code, reason } = await closed;
    tokenValid = true;
    assert.equal(code, 4401);
    assert.match(reason, /^UNAUTHENTICATED: /);
    await waitFor(() => terminals.calls.includes('detach'), 5000, 'detach');
  });
});
