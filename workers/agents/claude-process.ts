import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { SpawnOptions, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';
import { StderrLines, delay, exitsWithin } from './stderr-lines.ts';
import type { LogLevel } from '../../machines/domain-events.ts';
import type { AgentSandbox } from '../sandbox/agent-sandbox.ts';

const WARN_LINE = /\b(error|fatal|panic|failed|exception|no conversation found)\b/i;

/**
 * Owns the CLI child the SDK asks us to spawn (`spawnClaudeCodeProcess`). The SDK's own spawn
 * hides the ChildProcess, so we could neither wait for its exit on close (the SDK only schedules
 * an unref'd SIGTERM after 2 s) nor prove in tests that no CLI is left behind. Owning it also
 * gives us whole stderr lines and a tail for crash reasons.
 */
export class ClaudeProcess {
  private child: ChildProcess | undefined;
  private readonly stderrLines: StderrLines;
  private stderrClosed: Promise<unknown> = Promise.resolve();
  private exited: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly log: (level: LogLevel, line: string) => void,
    private readonly sandbox?: AgentSandbox,
  ) {
    this.stderrLines = new StderrLines(log, WARN_LINE);
  }

  /** Passed to the SDK as `spawnClaudeCodeProcess`. */
  readonly spawn = (opts: SpawnOptions): SpawnedProcess => {
    // In the sandbox, bubblewrap is the child: the CLI and all it runs live inside it (and die with it).
    const { command, args } = this.sandbox ? this.sandbox.wrap(opts.command, opts.args) : { command: opts.command, args: opts.args };
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env,
      // The SDK aborts this only after its stdin-EOF grace period, so it is a safe kill switch.
      signal: opts.signal,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    // Inside its pid namespace the CLI knows only its namespace pid: name the host's (bubblewrap's; the namespace dies with it).
    if (this.sandbox && child.pid !== undefined) this.log('info', `agent sandbox started pid=${child.pid}`);
    this.exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').catch(() => undefined);
    child.on('error', () => undefined); // the SDK listens too and turns it into the generator's error
    const stderr = child.stderr;
    if (stderr) {
      stderr.setEncoding('utf8');
      stderr.on('data', (chunk: string) => this.stderrLines.push(chunk));
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
    this.stderrLines.flush();
    return this.stderrLines.tail;
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

}
