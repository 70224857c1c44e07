import { query, type CanUseTool, type Options, type PermissionResult, type Query } from '@anthropic-ai/claude-agent-sdk';
import type { AgentAdapter, AgentCallbacks, AgentSession, AgentStartOptions, PermissionDecision, TurnOutcome } from './adapter.ts';
import { UserMessageQueue } from './claude-input.ts';
import { ClaudeTranscriptMapper, type ResultInfo } from './claude-mapping.ts';
import { buildPermissionRequest } from './claude-permission.ts';
import { ClaudeProcess } from './claude-process.ts';
import { prepareClaudeHome } from '../sandbox/claude-home.ts';

export interface ClaudeAdapterConfig {
  /** How long close() lets the CLI exit on its own after stdin EOF before SIGTERM. */
  closeGraceMs?: number;
  /** interrupt() stops waiting for the CLI's acknowledgement after this (a hung CLI never answers). */
  interruptTimeoutMs?: number;
}

const TURN_ACTIVITY = new Set(['assistant', 'stream_event', 'user']);
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the decision, or with a deny as soon as the CLI withdraws the request. */
function decideUnlessWithdrawn(decision: Promise<PermissionDecision>, signal: AbortSignal): Promise<PermissionDecision> {
  const withdrawn: PermissionDecision = { behavior: 'deny', message: 'Permission request withdrawn' };
  if (signal.aborted) return Promise.resolve(withdrawn);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(withdrawn);
    signal.addEventListener('abort', onAbort, { once: true });
    decision.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

class ClaudeSession implements AgentSession {
  private readonly cb: AgentCallbacks;
  private readonly input = new UserMessageQueue();
  private readonly proc: ClaudeProcess;
  private readonly mapper: ClaudeTranscriptMapper;
  /** Undefined when query() threw at once (e.g. no bundled CLI binary for this platform). */
  private readonly q: Query | undefined;
  private readonly pump: Promise<void>;
  /** A prompt was sent or turn activity seen, and no result yet. */
  private turnActive = true;
  private interruptRequested = false;
  private closing = false;
  /** The message stream is over: the CLI is gone and no further turn can run. */
  private ended = false;
  private closed: Promise<void> | undefined;

  constructor(
    opts: AgentStartOptions,
    private readonly config: Required<ClaudeAdapterConfig>,
  ) {
    this.cb = opts.callbacks;
    this.proc = new ClaudeProcess((level, line) => this.cb.log(level, line), opts.sandbox);
    this.mapper = new ClaudeTranscriptMapper(this.cb);
    const options: Options = {
      cwd: opts.spec.worktreePath,
      env: this.agentEnv(opts),
      // [] = load no user/project/local settings: their permission rules could allow tools behind
      // the policy's back. The user may opt in (config agents.claude.userConfig).
      settingSources: opts.userConfig ? ['user', 'project', 'local'] : [],
      // 'default' asks canUseTool for anything not read-only; other modes would skip our policy.
      permissionMode: 'default',
      includePartialMessages: true,
      canUseTool: this.canUseTool,
      spawnClaudeCodeProcess: this.proc.spawn,
      ...(opts.spec.model ? { model: opts.spec.model } : {}),
      ...(opts.executablePath ? { pathToClaudeCodeExecutable: opts.executablePath } : {}),
      ...(opts.resumeSessionId ? { resume: opts.resumeSessionId } : {}),
    };
    const first = opts.firstMessage === undefined ? opts.spec.prompt : opts.firstMessage;
    if (first !== null) this.input.push(first);
    let q: Query | undefined;
    try {
      q = query({ prompt: this.input, options });
    } catch (err) {
      // Reported like any other failure to start, so the worker has one path for it.
      this.ended = true;
      queueMicrotask(() => this.endTurn({ ok: false, reason: errorText(err), crashed: true }));
    }
    this.q = q;
    this.pump = q ? this.run(q) : Promise.resolve();
  }

  /**
   * Sandboxed without the user's configuration, the CLI keeps its config and sessions in the
   * job's own agent home (the user's ~/.claude is hidden there), with a copy of the login.
   */
  private agentEnv(opts: AgentStartOptions): Record<string, string | undefined> {
    if (!opts.sandbox || opts.userConfig) return opts.env;
    const home = prepareClaudeHome(opts.sandbox.agentHome, opts.env);
    if (home.warning) this.cb.log('warn', `claude: ${home.warning}`);
    return { ...opts.env, CLAUDE_CONFIG_DIR: home.dir };
  }

  send(content: string): void {
    if (this.closing) return this.cb.log('warn', 'claude: message dropped, the session is closing');
    if (this.ended) {
      // The worker waits for a turn to end; a dead CLI will never end this one.
      queueMicrotask(() => this.cb.turnEnded({ ok: false, reason: 'the Claude CLI is no longer running', crashed: true }));
      return;
    }
    this.turnActive = true;
    this.input.push(content);
  }

  async interrupt(): Promise<void> {
    if (!this.q || this.ended || this.closing || !this.turnActive) return;
    this.interruptRequested = true;
    try {
      await withTimeout(this.q.interrupt(), this.config.interruptTimeoutMs, 'interrupt');
    } catch (err) {
      this.cb.log('warn', `claude interrupt: ${errorText(err)}`);
    }
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    this.input.end();
    // Ends the CLI's stdin, aborts pending permission signals and finishes the message stream.
    this.q?.close();
    await this.proc.waitForExit(this.config.closeGraceMs);
    await this.pump;
  }

  private readonly canUseTool: CanUseTool = async (toolName, input, options): Promise<PermissionResult> => {
    const req = buildPermissionRequest(toolName, input, options);
    try {
      const decision = await decideUnlessWithdrawn(this.cb.requestPermission(req, options.signal), options.signal);
      // updatedInput is required in practice: the CLI runs the tool with exactly what we return.
      return decision.behavior === 'allow' ? { behavior: 'allow', updatedInput: input } : { behavior: 'deny', message: decision.message };
    } catch (err) {
      this.cb.log('error', `claude permission request for ${toolName} failed: ${errorText(err)}`);
      return { behavior: 'deny', message: 'Permission check failed' };
    }
  };

  private async run(q: Query): Promise<void> {
    try {
      for await (const msg of q) {
        // Streamed tool input, hooks, status messages: the transcript shows none, but the CLI is working.
        this.cb.activity();
        const result = this.mapper.map(msg);
        if (result) this.onResult(result);
        // The CLI may run a queued prompt as its own turn; seeing it work means a turn is open again.
        else if (TURN_ACTIVITY.has(msg.type) || (msg.type === 'system' && msg.subtype === 'init')) this.turnActive = true;
      }
      if (!this.closing && this.turnActive) this.endTurn({ ok: false, reason: 'the Claude CLI stopped without finishing the turn', crashed: true });
    } catch (err) {
      if (this.closing) return;
      // After an error result the SDK throws "returned an error result": that turn is already reported.
      if (!this.turnActive) return this.cb.log('warn', `claude session ended: ${errorText(err)}`);
      const message = errorText(err);
      const tail = await this.proc.stderrTail();
      const reason = !tail || message.includes(tail) ? message : `${message}. stderr: ${tail}`;
      this.endTurn({ ok: false, reason, crashed: true });
    } finally {
      this.ended = true;
      this.input.end();
    }
  }

  private onResult(r: ResultInfo): void {
    const interrupted = this.interruptRequested && r.isError;
    this.interruptRequested = false;
    if (interrupted) this.endTurn({ ok: false, reason: 'interrupted', crashed: false });
    else if (r.isError) this.endTurn({ ok: false, reason: r.text, crashed: false });
    else this.endTurn({ ok: true, ...(r.text ? { summary: r.text } : {}) });
  }

  private endTurn(outcome: TurnOutcome): void {
    this.turnActive = false;
    this.interruptRequested = false;
    this.cb.turnEnded(outcome);
  }
}

/** Builds the Claude adapter; the config exists so tests can shorten grace periods. */
export function createClaudeAdapter(config: ClaudeAdapterConfig = {}): AgentAdapter {
  const full: Required<ClaudeAdapterConfig> = { closeGraceMs: 2000, interruptTimeoutMs: 10_000, ...config };
  return { id: 'claude', start: (opts) => new ClaudeSession(opts, full) };
}

export const claudeAdapter: AgentAdapter = createClaudeAdapter();
