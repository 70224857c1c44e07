import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { getPriority, setPriority } from 'node:os';
import { decode } from '../../machines/decode.ts';
import type { AgentId } from '../../machines/job-spec.ts';
import type { SequencedEvent } from '../../machines/domain-events.ts';
import { LineSplitter, encodeFrame, parseFrame } from '../../machines/ipc-framing.ts';
import { PROTOCOL_VERSION, workerMessageDecoder, type SupervisorMessage, type WorkerMessage } from '../../machines/ipc-protocol.ts';
import { AckThrottle } from './ack-throttle.ts';

// A worker starts at a lower priority (workerNice); on a saturated two-core machine its first
// import of the bundled worker can take tens of seconds, and giving up then fails a healthy job.
// A worker that truly cannot start exits, which is noticed at once, so the wait can be long.
const CONNECT_TIMEOUT_MS = 60_000;

export interface WorkerHandlers {
  /** Persist the events; call `persisted` once they are durable (the handle then acknowledges them). */
  onEvents(events: SequencedEvent[], persisted: () => void): void;
  onSnapshot(seq: number, snapshot: Record<string, unknown>): void;
  onRejected(message: Extract<WorkerMessage, { type: 'command_rejected' }>): void;
  /** The worker process is gone (exit code/signal and the tail of its stderr). */
  onExit(info: { code: number | null; signal: string | null; stderrTail: string }): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

export interface Handshake {
  started: boolean;
  pid: number;
  pendingApprovals: string[];
}

export interface SpawnOptions {
  jobId: string;
  home: string;
  socketPath: string;
  jobDir: string;
  env: NodeJS.ProcessEnv;
  /** Node arguments that run the worker entry (see worker-bundle.ts). */
  nodeArgs: string[];
  /** The job's agent, when known: the worker starts loading its SDK before `start` arrives. */
  agent?: AgentId;
  /** The worker's nice value (config `workerNice`); its agent CLI inherits it. */
  nice?: number;
}

/**
 * The supervisor's handle on one job worker: spawns it detached (so it can
 * outlive us), connects to the socket it listens on, handshakes, and turns
 * each batch of events into an acknowledgement once persisted.
 */
export class WorkerHandle {
  private socket: Socket | undefined;
  private child: ChildProcess | undefined;
  private workerPid: number | undefined;
  private exited = false;
  private detached = false;
  /** When a message last went either way (acks excepted): how long the job has been idle. Monotonic (performance.now). */
  private lastActivity = performance.now();
  private parkedFlag = false;
  private readonly logFile: string;
  private readonly acks = new AckThrottle((seq) => this.socket?.write(encodeFrame({ type: 'ack', seq } satisfies SupervisorMessage)));

  private constructor(private readonly opts: SpawnOptions, private readonly handlers: WorkerHandlers) {
    this.logFile = join(opts.jobDir, 'worker.log');
  }

  static spawn(opts: SpawnOptions, handlers: WorkerHandlers): WorkerHandle {
    const h = new WorkerHandle(opts, handlers);
    mkdirSync(opts.jobDir, { recursive: true });
    const out = openSync(h.logFile, 'a');
    const child = spawn(process.execPath, [...opts.nodeArgs, '--job', opts.jobId, '--socket', opts.socketPath, '--home', opts.home, ...(opts.agent ? ['--agent', opts.agent] : [])], {
      detached: true,
      stdio: ['ignore', out, out],
      env: opts.env,
      cwd: opts.jobDir,
    });
    closeSync(out);
    if (opts.nice && child.pid) lowerPriority(child.pid, opts.nice, (m) => handlers.log('warn', m));
    h.child = child;
    child.once('exit', (code, signal) => h.onChildExit(code, signal));
    child.unref();
    return h;
  }

  /**
   * Re-attaches to a worker that outlived a previous supervisor: there is no
   * child handle, so its death is noticed as "socket closed and pid gone".
   */
  static async attach(opts: SpawnOptions, handlers: WorkerHandlers, lastPersistedSeq: number, timeoutMs = 2000): Promise<{ handle: WorkerHandle; handshake: Handshake }> {
    const h = new WorkerHandle(opts, handlers);
    const handshake = await h.connect(lastPersistedSeq, timeoutMs);
    return { handle: h, handshake };
  }

  get pid(): number | undefined {
    return this.child?.pid ?? this.workerPid;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Whether the worker was asked to stop because its job idled (it exits on purpose; see park). */
  get parked(): boolean {
    return this.parkedFlag;
  }

  /** Asks the worker to checkpoint and exit because its job idles; false if it cannot be reached. */
  park(reason: string): boolean {
    if (!this.send({ type: 'shutdown', reason })) return false;
    this.parkedFlag = true;
    return true;
  }

  /** Milliseconds since the last command sent or message received (not counting acks). */
  idleMs(now = performance.now()): number {
    return now - this.lastActivity;
  }

  /** Connects (retrying while the worker starts), handshakes, and reports whether the job already runs. */
  async connect(lastPersistedSeq: number, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Handshake> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.exited) throw new Error(`the worker exited before it could be reached: ${this.stderrTail()}`);
      try {
        const socket = await this.dial();
        return await this.handshake(socket, lastPersistedSeq);
      } catch (e) {
        if (performance.now() > deadline) throw new Error(`could not connect to the worker: ${e instanceof Error ? e.message : String(e)}`);
        await new Promise((r) => setTimeout(r, 30));
      }
    }
  }

  send(message: Exclude<SupervisorMessage, { type: 'hello' | 'ack' }>): boolean {
    if (!this.socket || this.socket.destroyed) return false;
    this.lastActivity = performance.now();
    this.socket.write(encodeFrame(message));
    return true;
  }

  /** Kill now. Idempotent. */
  destroy(): void {
    const pid = this.pid;
    if (!this.exited && pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.acks.cancel();
    this.socket?.destroy();
  }

  /** Drop the connection but leave the worker running (a supervisor restart). */
  detach(): void {
    this.detached = true;
    this.acks.cancel();
    this.socket?.destroy();
    this.socket = undefined;
  }

  private dial(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect(this.opts.socketPath);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
  }

  private handshake(socket: Socket, lastPersistedSeq: number): Promise<Handshake> {
    return new Promise((resolve, reject) => {
      const splitter = new LineSplitter();
      let greeted = false;
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        for (const line of splitter.push(chunk)) {
          const msg = this.decode(line);
          if (!msg) continue;
          if (!greeted) {
            if (msg.type !== 'hello_ack' || msg.protocolVersion !== PROTOCOL_VERSION) {
              socket.destroy();
              return reject(new Error(msg.type === 'protocol_error' ? msg.message : `unexpected handshake reply ${msg.type}`));
            }
            greeted = true;
            this.socket = socket;
            this.workerPid = msg.pid;
            resolve({ started: msg.started, pid: msg.pid, pendingApprovals: msg.pendingApprovals });
            continue;
          }
          this.receive(msg);
        }
      });
      socket.once('close', () => {
        if (!greeted) reject(new Error('the worker closed the connection during the handshake'));
        if (this.socket === socket) this.socket = undefined;
        if (greeted && !this.child && !this.detached) void this.watchAttachedExit(lastPersistedSeq);
      });
      socket.on('error', (e) => this.handlers.log('warn', `IPC socket error: ${e.message}`));
      socket.write(encodeFrame({ type: 'hello', protocolVersion: PROTOCOL_VERSION, lastPersistedSeq } satisfies SupervisorMessage));
    });
  }

  private decode(line: string): WorkerMessage | undefined {
    const parsed = parseFrame(line);
    const d = parsed.ok ? decode(workerMessageDecoder, parsed.value) : undefined;
    if (d?.ok) return d.value;
    this.handlers.log('warn', `bad IPC message from worker ${this.opts.jobId}: ${parsed.ok ? (d && !d.ok ? d.error.message : '') : parsed.message}`);
    return undefined;
  }

  private receive(msg: WorkerMessage): void {
    this.lastActivity = performance.now();
    switch (msg.type) {
      case 'events': {
        if (msg.events.length === 0) return;
        const seq = msg.events.reduce((m, e) => Math.max(m, e.seq), 0);
        this.handlers.onEvents(msg.events, () => this.acks.ack(seq));
        return;
      }
      case 'snapshot':
        return this.handlers.onSnapshot(msg.seq, msg.snapshot);
      case 'command_rejected':
        return this.handlers.onRejected(msg);
      case 'protocol_error':
        return this.handlers.log('error', `worker ${this.opts.jobId} reported a protocol error: ${msg.message}`);
      case 'hello_ack':
        return this.handlers.log('warn', `unexpected second hello_ack from worker ${this.opts.jobId}`);
    }
  }

  private onChildExit(code: number | null, signal: string | null): void {
    this.exited = true;
    const report = () => this.handlers.onExit({ code, signal, stderrTail: this.stderrTail() });
    const socket = this.socket;
    if (!socket || socket.destroyed) return report();
    // "Gone" means process exited AND channel closed: let the socket deliver what the worker wrote first.
    const fallback = setTimeout(() => socket.destroy(), 2000);
    socket.once('close', () => {
      clearTimeout(fallback);
      report();
    });
  }

  /** For a re-attached worker: the channel closed, so wait for its pid to go (or reconnect if it lives). */
  private async watchAttachedExit(lastSeq: number): Promise<void> {
    const pid = this.workerPid!;
    for (let i = 0; i < 20 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (pidAlive(pid)) {
      try {
        await this.connect(lastSeq, 1000);
        return;
      } catch {
        this.destroy(); // alive but unreachable: no use to anyone
      }
    }
    this.exited = true;
    this.handlers.onExit({ code: null, signal: null, stderrTail: this.stderrTail() });
  }

  private stderrTail(): string {
    try {
      const size = statSync(this.logFile).size;
      const text = readFileSync(this.logFile, 'utf8');
      return text.slice(Math.max(0, size - 2000)).trim();
    } catch {
      return '';
    }
  }
}

/**
 * Nice `pid` by `by` relative to this process (done before the worker runs
 * anything, so its agent CLI and their tools inherit it). A worker is its own
 * session (detached), and with the scheduler's autogroups (Linux desktops'
 * default) each session competes as ONE group whatever its processes' nice
 * values are: the group's own nice value is lowered too.
 */
function lowerPriority(pid: number, by: number, warn: (message: string) => void): void {
  const nice = Math.min(19, getPriority() + by);
  try {
    setPriority(pid, nice);
  } catch (e) {
    warn(`could not lower the worker's priority: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch (e) {
    // No /proc/<pid>/autogroup: the kernel has no autogroups, and nice alone does the job.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || autogroupWarned) return;
    autogroupWarned = true; // the same for every worker: say it once
    warn(`could not lower the workers' scheduling group priority (nice alone may not keep the server ahead): ${e instanceof Error ? e.message : String(e)}`);
  }
}

let autogroupWarned = false;

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
