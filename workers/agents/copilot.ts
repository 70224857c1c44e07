import {
  CopilotClient,
  RuntimeConnection,
  type CopilotSession,
  type PermissionHandler,
  type ProviderConfig,
  type SessionConfigBase,
  type SessionEvent,
} from '@github/copilot-sdk';
import type { AgentAdapter, AgentCallbacks, AgentSession, AgentStartOptions, PermissionDecision, TurnOutcome } from './adapter.ts';
import { prepareCopilotHome } from './copilot-home.ts';
import { CopilotEventMapper } from './copilot-mapping.ts';
import { buildPermissionRequest, PendingPermissions, toCopilotResult } from './copilot-permission.ts';
import { RuntimeProcess } from './copilot-process.ts';
import { COPILOT_PROVIDER_ENV, copilotProviderFrom, describeProvider } from './copilot-provider.ts';
import { PingWatchdog } from './copilot-watchdog.ts';
import { bundledCopilotRuntime } from '../sandbox/copilot-runtime-path.ts';

export interface CopilotAdapterConfig {
  /** How long close() lets client.stop() (detach, runtime.shutdown) run before force-killing the runtime. */
  closeGraceMs?: number;
  /** interrupt() stops waiting for the runtime's acknowledgement of session.abort after this. */
  interruptTimeoutMs?: number;
  /** 'process' watches the runtime child's exit (falling back to ping if it is out of reach); 'ping' always pings. */
  liveness?: 'process' | 'ping';
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
/**
 * A JSON-RPC error answer (the runtime is alive and said no), not a transport failure:
 * vscode-jsonrpc's ResponseError carries the negative JSON-RPC code, its ConnectionError small positive ones.
 */
const isRpcError = (err: unknown): boolean => {
  const code: unknown = err instanceof Error ? Reflect.get(err, 'code') : undefined;
  return typeof code === 'number' && code < 0;
};

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the decision, or with a deny as soon as the runtime withdraws the request. */
function decideUnlessWithdrawn(decision: Promise<PermissionDecision>, signal: AbortSignal): Promise<PermissionDecision> {
  const withdrawn: PermissionDecision = { behavior: 'deny', message: 'Permission request withdrawn' };
  if (signal.aborted) return Promise.resolve(withdrawn);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(withdrawn);
    signal.addEventListener('abort', onAbort, { once: true });
    decision.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const definedEnv = (env: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
const withoutKey = (env: Record<string, string>, key: string): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter(([k]) => k !== key));

/**
 * One Copilot runtime process and one session per job. Turns run with `session.send` and end
 * with `session.idle`; a `session.error` in the turn is its outcome, reported at that idle
 * (the runtime sends turn_end, session.error, then session.idle).
 *
 * Configuration: the runtime's data directory (the client's `baseDirectory`) is the job's own
 * `agentHome` unless the user opted in to their own config (see copilot-home.ts), else env
 * `COPILOT_HOME`; `CODEPLANE_COPILOT_PROVIDER` (JSON, see copilot-provider.ts)
 * is a BYOK provider for every session, and implies `useLoggedInUser: false`. An invalid value
 * fails the first turn with the reason; no runtime is started.
 */
class CopilotAgentSession implements AgentSession {
  private readonly cb: AgentCallbacks;
  private readonly client: CopilotClient | undefined;
  private readonly proc: RuntimeProcess;
  private readonly mapper: CopilotEventMapper;
  private readonly permissions = new PendingPermissions();
  private readonly opening: Promise<void>;
  private watchdog: PingWatchdog | undefined;
  private session: CopilotSession | undefined;
  /** Messages sent before the session was open. */
  private readonly queued: string[] = [];
  /** A prompt was sent or turn activity seen, and no idle yet. */
  private turnActive = true;
  private interruptRequested = false;
  private turnError: string | undefined;
  private closing = false;
  /** Set once no turn can run any more (runtime gone, session never opened): what later sends hear. */
  private dead: TurnOutcome | undefined;
  private closed: Promise<void> | undefined;
  /** The BYOK provider from CODEPLANE_COPILOT_PROVIDER, when set. */
  private readonly provider: ProviderConfig | undefined;

  constructor(
    private readonly opts: AgentStartOptions,
    private readonly config: Required<CopilotAdapterConfig>,
  ) {
    this.cb = opts.callbacks;
    this.mapper = new CopilotEventMapper(this.cb);
    this.proc = new RuntimeProcess((level, line) => this.cb.log(level, line), () => void this.onRuntimeExit(), opts.sandbox !== undefined);
    const env = definedEnv(opts.env);
    const setting = copilotProviderFrom(env);
    this.provider = setting.ok ? setting.provider : undefined;
    let client: CopilotClient | undefined;
    if (!setting.ok) {
      // A configuration error: restarting would not help, so not a crash.
      this.dead = { ok: false, reason: setting.reason, crashed: false };
    } else {
      if (this.provider) this.cb.log('info', `copilot: BYOK ${describeProvider(this.provider)}`);
      try {
        const home = prepareCopilotHome({ env, ...(opts.userConfig !== undefined ? { userConfig: opts.userConfig } : {}), ...(opts.agentHome !== undefined ? { agentHome: opts.agentHome } : {}) });
        if (home.isolatedFrom !== undefined) {
          const login = home.seeded.length > 0 ? `the login copied from ${home.isolatedFrom}` : `no stored login found in ${home.isolatedFrom}`;
          this.cb.log('info', `copilot: the job's own config directory ${home.dir ?? ''} (user config not loaded; ${login})`);
        }
        if (home.warning) this.cb.log('warn', `copilot: ${home.warning}`);
        client = new CopilotClient({
          // Sandboxed, the SDK spawns a launcher that execs bubblewrap around the real runtime (written in open()).
          connection: RuntimeConnection.forStdio(opts.sandbox ? { path: opts.sandbox.launcherPath('copilot-runtime') } : opts.executablePath ? { path: opts.executablePath } : {}),
          // The provider travels in session.create; its key need not be in the env the agent's shell inherits.
          env: withoutKey(env, COPILOT_PROVIDER_ENV),
          workingDirectory: opts.spec.worktreePath,
          ...(home.dir ? { baseDirectory: home.dir } : {}),
          // Model calls go to the provider: never fall back to (or prompt for) a GitHub login.
          ...(this.provider ? { useLoggedInUser: false } : {}),
        });
      } catch (err) {
        this.dead = { ok: false, reason: errorText(err), crashed: true };
      }
    }
    this.client = client;
    this.opening = client ? this.open(client) : Promise.resolve().then(() => this.endTurn(this.dead ?? { ok: false, reason: 'no client', crashed: true }));
  }

  send(content: string): void {
    if (this.closing) return this.cb.log('warn', 'copilot: message dropped, the session is closing');
    const dead = this.dead;
    if (dead) {
      // The worker waits for a turn to end; a dead runtime will never end this one.
      queueMicrotask(() => this.cb.turnEnded(dead));
      return;
    }
    this.turnActive = true;
    if (this.session) this.deliver(this.session, content);
    else this.queued.push(content);
  }

  async interrupt(): Promise<void> {
    if (this.closing || this.dead || !this.turnActive) return;
    this.interruptRequested = true;
    if (!this.session) return; // open() ends the turn instead of sending the prompt
    try {
      await withTimeout(this.session.abort(), this.config.interruptTimeoutMs, 'interrupt');
    } catch (err) {
      this.cb.log('warn', `copilot interrupt: ${errorText(err)}`);
    }
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async open(client: CopilotClient): Promise<void> {
    const { spec, resumeSessionId } = this.opts;
    try {
      if (this.opts.sandbox) await this.writeLauncher(this.opts.sandbox);
      const started = client.start();
      if (this.config.liveness === 'process') await this.proc.attachDuringStart(client, started);
      await started;
      const config: SessionConfigBase = {
        clientName: 'codeplane',
        workingDirectory: spec.worktreePath,
        streaming: true,
        onPermissionRequest: this.onPermissionRequest,
        onEvent: this.onEvent,
        ...(spec.model ? { model: spec.model } : {}),
        ...(this.provider ? { provider: this.provider } : {}),
      };
      const session = resumeSessionId ? await client.resumeSession(resumeSessionId, config) : await client.createSession(config);
      if (this.closing) return;
      this.session = session;
      if (!this.proc.attached) this.startWatchdog(client);
      const model = this.mapper.selectedModel ?? spec.model;
      this.cb.sessionStarted({ agentSessionId: session.sessionId, ...(model ? { model } : {}) });
      const first = this.opts.firstMessage === undefined ? spec.prompt : this.opts.firstMessage;
      const prompts = [...(first === null ? [] : [first]), ...this.queued.splice(0)];
      if (this.interruptRequested) return this.endTurn({ ok: false, reason: 'interrupted', crashed: false });
      for (const prompt of prompts) this.deliver(session, prompt);
    } catch (err) {
      if (this.closing) return;
      this.dead = await this.startFailure(err);
      this.endTurn(this.dead);
    }
  }

  /** The sandbox launcher around the configured CLI, or the SDK's bundled runtime. */
  private async writeLauncher(sandbox: NonNullable<AgentStartOptions['sandbox']>): Promise<void> {
    const path = this.opts.executablePath;
    // The SDK runs a `.js` CLI through node: so does the launcher.
    const command = path ? (path.endsWith('.js') ? [process.execPath, path] : [path]) : [await bundledCopilotRuntime()];
    sandbox.writeLauncher(sandbox.launcherPath('copilot-runtime'), command);
  }

  /** Why the session could not open: the runtime's exit (with stderr) when it died, else the error. */
  private async startFailure(err: unknown): Promise<TurnOutcome> {
    const id = this.opts.resumeSessionId;
    if (isRpcError(err)) {
      // The runtime is fine and said no (an unknown resume id, a bad model): the agent's error, not a crash.
      const what = id ? `could not resume Copilot session ${id}` : 'could not create the Copilot session';
      return { ok: false, reason: `${what}: ${errorText(err)}`, crashed: false };
    }
    if (await this.proc.exitedWithin(1000)) {
      const tail = await this.proc.stderrTail();
      return { ok: false, reason: `the Copilot runtime ${this.proc.describeExit()} before the session opened${tail ? `: ${tail}` : ''}`, crashed: true };
    }
    return { ok: false, reason: errorText(err), crashed: true };
  }

  private deliver(session: CopilotSession, prompt: string): void {
    session.send({ prompt }).catch(async (err: unknown) => {
      if (this.closing || this.dead) return;
      // A closed connection means the runtime died: report its exit (the exit handler may have
      // run while the session was still opening, when it leaves reporting to open()).
      if (await this.proc.exitedWithin(1000)) return this.onRuntimeExit();
      this.endTurn({ ok: false, reason: `session.send failed: ${errorText(err)}`, crashed: !isRpcError(err) });
    });
  }

  private readonly onPermissionRequest: PermissionHandler = async (request) => {
    const signal = this.permissions.begin(request);
    const req = buildPermissionRequest(request, this.mapper.toolName(request.toolCallId));
    try {
      const decision = await decideUnlessWithdrawn(this.cb.requestPermission(req, signal), signal);
      // Withdrawn: the runtime no longer waits, and a late answer would only be refused.
      return signal.aborted ? { kind: 'no-result' } : toCopilotResult(decision);
    } catch (err) {
      this.cb.log('error', `copilot permission request for ${req.toolName} failed: ${errorText(err)}`);
      return { kind: 'reject', feedback: 'Permission check failed' };
    } finally {
      this.permissions.end(request);
    }
  };

  private readonly onEvent = (event: SessionEvent): void => {
    // Tool-call deltas, tool progress, model bookkeeping: not shown, but the runtime is working.
    this.cb.activity();
    if (event.type === 'permission.requested') this.permissions.identify(event.data.permissionRequest, event.data.requestId);
    else if (event.type === 'permission.completed') this.permissions.completed(event.data.requestId);
    const signal = this.mapper.map(event);
    if (!signal) return;
    if (signal.type === 'activity') {
      this.turnActive = true; // the runtime may start a turn of its own (a queued message)
    } else if (signal.type === 'error') {
      if (this.turnActive) this.turnError = signal.message;
      else this.cb.log('warn', `copilot: ${signal.message}`);
    } else if (this.turnActive) {
      // session.idle: the turn is over.
      const error = this.turnError;
      if (signal.aborted) {
        this.endTurn(this.interruptRequested ? { ok: false, reason: 'interrupted', crashed: false } : { ok: false, reason: 'the Copilot runtime aborted the turn', crashed: false });
      } else if (error !== undefined) this.endTurn({ ok: false, reason: error, crashed: false });
      else {
        const summary = this.mapper.summary;
        this.endTurn({ ok: true, ...(summary ? { summary } : {}) });
      }
    }
  };

  private startWatchdog(client: CopilotClient): void {
    this.watchdog = new PingWatchdog(() => client.ping(), (why) => this.runtimeGone(`the Copilot runtime stopped responding (${why})`),
      this.config.pingIntervalMs, this.config.pingTimeoutMs);
    this.watchdog.start();
  }

  private async onRuntimeExit(): Promise<void> {
    if (this.closing || !this.session) return; // during open(), startFailure() reports it
    const tail = await this.proc.stderrTail();
    this.runtimeGone(`the Copilot runtime ${this.proc.describeExit()}${tail ? `: ${tail}` : ''}`);
  }

  private runtimeGone(reason: string): void {
    if (this.closing || this.dead) return;
    this.dead = { ok: false, reason, crashed: true };
    this.watchdog?.stop();
    this.permissions.withdrawAll();
    if (this.turnActive) this.endTurn(this.dead);
    else this.cb.log('warn', reason);
  }

  private endTurn(outcome: TurnOutcome): void {
    this.mapper.finishTurn(!outcome.ok && outcome.reason === 'interrupted');
    this.turnActive = false;
    this.interruptRequested = false;
    this.turnError = undefined;
    this.cb.turnEnded(outcome);
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    this.watchdog?.stop();
    this.permissions.withdrawAll();
    const client = this.client;
    if (client) {
      // stop() detaches the session and asks the runtime to shut down; a hung runtime never answers.
      const stopping = client.stop();
      try {
        for (const e of await withTimeout(stopping, this.config.closeGraceMs, 'client.stop()')) this.cb.log('warn', `copilot stop: ${e.message}`);
      } catch (err) {
        this.cb.log('warn', `copilot: ${errorText(err)}; killing the runtime`);
        stopping.catch(() => undefined);
        await client.forceStop().catch(() => undefined);
      }
    }
    await this.proc.ensureExited(1000);
    await this.opening;
  }
}

/** Builds the Copilot adapter; the config exists so tests can shorten grace periods and pick the liveness check. */
export function createCopilotAdapter(config: CopilotAdapterConfig = {}): AgentAdapter {
  const full: Required<CopilotAdapterConfig> = {
    closeGraceMs: 5000,
    interruptTimeoutMs: 10_000,
    liveness: 'process',
    pingIntervalMs: 2000,
    pingTimeoutMs: 5000,
    ...config,
  };
  return { id: 'copilot', start: (opts) => new CopilotAgentSession(opts, full) };
}

export const copilotAdapter: AgentAdapter = createCopilotAdapter();
