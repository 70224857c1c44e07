import { ChildProcess } from 'node:child_process';
import { StderrLines, delay, exitsWithin } from './stderr-lines.ts';
import { once } from 'node:events';
import type { CopilotClient } from '@github/copilot-sdk';
import type { LogLevel } from '../../machines/domain-events.ts';

const WARN_LINE = /\b(error|fatal|panic|failed|exception)\b/i;

/**
 * The runtime child process the SDK spawns for a stdio connection. The SDK neither lets us
 * supply the spawn nor exposes the child (it lives in the private `cliProcess` field), and it
 * copies every stderr line to OUR process.stderr as `[CLI subprocess] …`. A crashed runtime
 * sends nothing on the wire, so its exit is the only reliable crash signal. We therefore take
 * the child from that field — checked at runtime, so an SDK that renames it only loses this
 * (the session then falls back to a ping watchdog) — move its stderr to the job's log, and
 * watch its exit.
 */
export class RuntimeProcess {
  private child: ChildProcess | undefined;
  private readonly stderrLines: StderrLines;
  private stderrClosed: Promise<unknown> = Promise.resolve();
  private exited: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly log: (level: LogLevel, line: string) => void,
    private readonly onExit: () => void,
    private readonly sandboxed = false,
  ) {
    this.stderrLines = new StderrLines(log, WARN_LINE);
  }

  /** Takes over the client's runtime child if it has been spawned; true once attached. */
  tryAttach(client: CopilotClient): boolean {
    if (this.child) return true;
    const candidate: unknown = Reflect.get(client, 'cliProcess');
    if (!(candidate instanceof ChildProcess)) return false;
    this.child = candidate;
    // Inside its pid namespace the runtime knows only its namespace pid: name the host's (bubblewrap's; the namespace dies with it).
    if (this.sandboxed && candidate.pid !== undefined) this.log('info', `agent sandbox started pid=${candidate.pid}`);
    const stderr = candidate.stderr;
    if (stderr) {
      // The SDK's own listener echoes to our stderr (and buffers without bound): replace it.
      for (const listener of stderr.listeners('data')) stderr.off('data', listener as (...args: unknown[]) => void);
      stderr.setEncoding('utf8');
      stderr.on('data', (chunk: string) => this.stderrLines.push(chunk));
      this.stderrClosed = once(stderr, 'close').catch(() => undefined);
    }
    if (this.hasExited(candidate)) {
      queueMicrotask(this.onExit);
    } else {
      this.exited = once(candidate, 'exit').catch(() => undefined);
      candidate.once('exit', this.onExit);
    }
    return true;
  }

  /**
   * Attaches while `client.start()` runs. With an explicit executable the SDK spawns synchronously
   * inside start(); the bundled runtime is resolved first, so keep looking until start settles.
   */
  async attachDuringStart(client: CopilotClient, started: Promise<unknown>): Promise<void> {
    let settled = false;
    started.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!this.tryAttach(client) && !settled) await new Promise((resolve) => setImmediate(resolve));
  }

  get attached(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && !this.hasExited(this.child);
  }

  /** "exited with code 3" / "was killed by SIGKILL", for reasons shown to the user. */
  describeExit(): string {
    const c = this.child;
    if (!c || !this.hasExited(c)) return 'stopped responding';
    return c.exitCode !== null ? `exited with code ${c.exitCode}` : `was killed by ${c.signalCode}`;
  }

  /** Resolves once the child has exited, or after `ms`; true when it has exited. */
  async exitedWithin(ms: number): Promise<boolean> {
    if (!this.child) return false;
    if (!this.running) return true;
    return exitsWithin(this.exited, ms);
  }

  /** The last stderr text, once the stream has drained (bounded wait: a grandchild may hold it open). */
  async stderrTail(): Promise<string> {
    await Promise.race([this.stderrClosed, delay(500)]);
    this.stderrLines.flush();
    return this.stderrLines.tail;
  }

  /** Makes sure the child is gone: waits `graceMs`, then SIGTERM, then SIGKILL. */
  async ensureExited(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    if (await exitsWithin(this.exited, graceMs)) return;
    child.kill('SIGTERM');
    if (await exitsWithin(this.exited, 2000)) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  private hasExited(c: ChildProcess): boolean {
    return c.exitCode !== null || c.signalCode !== null;
  }

}
