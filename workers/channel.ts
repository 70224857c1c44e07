import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { decode } from '../machines/decode.ts';
import { LineSplitter, encodeFrame, parseFrame } from '../machines/ipc-framing.ts';
import {
  PROTOCOL_VERSION,
  supervisorMessageDecoder,
  type SupervisorMessage,
  type WorkerMessage,
} from '../machines/ipc-protocol.ts';
import type { Outbox } from './outbox.ts';

export interface ChannelHandlers {
  /** Every supervisor message after the handshake (acks are handled here). */
  onCommand(message: Exclude<SupervisorMessage, { type: 'hello' | 'ack' }>): void;
  /** Whether the job already runs: a re-attaching supervisor must not start it twice. */
  isStarted(): boolean;
  /** Approvals the job still waits for (re-sent answers are matched against these). */
  pendingApprovals(): string[];
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

/**
 * The worker's end of the IPC: a Unix socket the worker LISTENS on, so that a
 * supervisor that restarts can connect again and be re-sent what it lacks.
 * One supervisor at a time: a new connection replaces the old one.
 */
export class WorkerChannel {
  private server: Server | undefined;
  private current: { socket: Socket; sentUpTo: number; ready: boolean } | undefined;
  private outbox: Outbox | undefined;
  private flushScheduled = false;

  constructor(
    private readonly socketPath: string,
    private readonly jobId: string,
    private readonly handlers: ChannelHandlers,
  ) {}

  listen(): Promise<void> {
    rmSync(this.socketPath, { force: true }); // a stale socket from a dead worker
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        chmodSync(this.socketPath, 0o600);
        resolve();
      });
    });
  }

  setOutbox(outbox: Outbox): void {
    this.outbox = outbox;
    this.scheduleFlush();
  }

  get connected(): boolean {
    return this.current?.ready === true;
  }

  /** Sends whatever the outbox holds that this connection has not seen yet. */
  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  send(message: WorkerMessage): void {
    const c = this.current;
    if (c?.ready) c.socket.write(encodeFrame(message));
  }

  close(): Promise<void> {
    this.current?.socket.end();
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => {
      rmSync(this.socketPath, { force: true });
      resolve();
    }));
  }

  private flush(): void {
    const c = this.current;
    if (!c?.ready || !this.outbox) return;
    const fresh = this.outbox.pending().filter((e) => e.seq > c.sentUpTo);
    if (fresh.length === 0) return;
    c.sentUpTo = fresh[fresh.length - 1]!.seq;
    c.socket.write(encodeFrame({ type: 'events', events: fresh } satisfies WorkerMessage));
  }

  private accept(socket: Socket): void {
    if (this.current) {
      this.handlers.log('info', 'a new supervisor connected; dropping the previous connection');
      this.current.socket.destroy();
    }
    const conn = { socket, sentUpTo: 0, ready: false };
    this.current = conn;
    const splitter = new LineSplitter();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (e) {
        this.reject(socket, e instanceof Error ? e.message : String(e));
        return;
      }
      for (const line of lines) this.receive(conn, line);
    });
    socket.on('error', (e) => this.handlers.log('warn', `IPC socket error: ${e.message}`));
    socket.on('close', () => {
      if (this.current === conn) this.current = undefined;
    });
  }

  private reject(socket: Socket, message: string): void {
    socket.end(encodeFrame({ type: 'protocol_error', message } satisfies WorkerMessage));
  }

  private receive(conn: { socket: Socket; sentUpTo: number; ready: boolean }, line: string): void {
    const parsed = parseFrame(line);
    const decoded = parsed.ok ? decode(supervisorMessageDecoder, parsed.value) : undefined;
    if (!decoded?.ok) {
      const why = parsed.ok ? decoded!.ok ? '' : decoded!.error.message : `not JSON: ${parsed.message}`;
      this.handlers.log('warn', `bad IPC message from supervisor: ${why}`);
      this.reject(conn.socket, `bad message: ${why}`);
      return;
    }
    const msg = decoded.value;
    if (!conn.ready) {
      if (msg.type !== 'hello') return this.reject(conn.socket, 'expected hello first');
      if (msg.protocolVersion !== PROTOCOL_VERSION)
        return this.reject(conn.socket, `protocol version ${msg.protocolVersion} not supported (worker speaks ${PROTOCOL_VERSION})`);
      this.outbox?.ack(msg.lastPersistedSeq);
      conn.sentUpTo = msg.lastPersistedSeq;
      conn.ready = true;
      this.send({ type: 'hello_ack', protocolVersion: PROTOCOL_VERSION, jobId: this.jobId, pid: process.pid, started: this.handlers.isStarted(), pendingApprovals: this.handlers.pendingApprovals() });
      this.scheduleFlush();
      return;
    }
    switch (msg.type) {
      case 'hello':
        return this.reject(conn.socket, 'hello sent twice');
      case 'ack':
        this.outbox?.ack(msg.seq);
        return;
      default:
        this.handlers.onCommand(msg);
    }
  }
}
