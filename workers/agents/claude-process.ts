import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { SpawnOptions, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';
import type { LogLevel } from '../../machines/domain-events.ts';

const TAIL_CHARS = 2000;
const WARN_LINE = /\b(error|fatal|panic|failed|exception|no conversation found)\b/i;

/**
 * Owns the CLI child the SDK asks us to spawn (`spawnClaudeCodeProcess`). The SDK's own spawn
 * hides the ChildProcess, so we could neither wait for its exit on close (the SDK only schedules
 * an unref'd SIGTERM after 2 s) nor prove in tests that no CLI is left behind. Owning it also
 * gives us whole stderr lines and a tail for crash reasons.
 */
export class ClaudeProcess {
  private child: ChildProcess | undefined;
  private tail = '';
  private partialLine = '';
  private stderrClosed: Promise<unknown> = Promise.resolve();
  private exited: Promise<unknown> = Promise.resolve();

  constructor(private readonly log: (level: LogLevel, line: string) => void) {}

  /** Passed to the SDK as `spawnClaudeCodeProcess`. */
  readonly spawn = (opts: SpawnOptions): SpawnedProcess => {
    const child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: opts.env,
      // The SDK aborts this only after its stdin-EOF grace period, so it is a safe kill switch.
      signal: opts.signal,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').catch(() => undefined);
    child.on('error', () => undefined); // the SDK listens too and turns it into the generator's error
    const stderr = child.stderr;
    if (stderr) {
      stderr.setEncoding('utf8');
      stderr.on('data', (chunk: string) => this.onStderr(chunk));
      this.stderrClosed = once(stderr, 'close').catch(() => undefined);
    }
    return child as SpawnedProcess;
  };

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** The last stderr text, once the stream has drained (bounded wait: a grandchild may hold it open). */
  async stderrTail(): Promise<string> {
    await Promise.race([this.stderrClosed, delay(500)]);
    this.flushPartial();
    return this.tail.trim();
  }

  /** Waits for the child to exit; after `graceMs` sends SIGTERM, then SIGKILL. */
  async waitForExit(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    if (await exitsWithin(this.exited, graceMs)) return;
    child.kill('SIGTERM');
    if (await exitsWithin(this.exited, 3000)) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  private onStderr(chunk: string): void {
    this.tail = (this.tail + chunk).slice(-TAIL_CHARS);
    const lines = (this.partialLine + chunk).split('\n');
    this.partialLine = lines.pop() ?? '';
    for (const line of lines) this.emit(line);
  }

  private flushPartial(): void {
    const rest = this.partialLine;
    this.partialLine = '';
    if (rest) this.emit(rest);
  }

  private emit(line: string): void {
    const text = line.replace(/\r$/, '');
    if (text.trim()) this.log(WARN_LINE.test(text) ? 'warn' : 'info', text);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function exitsWithin(exited: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([exited.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
