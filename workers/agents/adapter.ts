import type { ApprovalKind, LogLevel, Telemetry, TranscriptDraft } from '../../machines/domain-events.ts';
import type { AgentId, JobSpec } from '../../machines/job-spec.ts';
import type { AgentSandbox } from '../sandbox/agent-sandbox.ts';

/**
 * The one interface every agent implements. Adding an agent means writing one
 * file that exports an `AgentAdapter` and listing it in `registry.ts`.
 */

/** A tool the agent wants to use, as the permission policy and the user see it. */
export interface PermissionRequest {
  toolName: string;
  kind: ApprovalKind;
  /** One line for humans: the command, the file path, the URL. */
  summary: string;
  /** The raw tool input and anything else worth showing (command, path, diff). */
  detail: Record<string, unknown>;
  toolCallId?: string;
}

export type PermissionDecision = { behavior: 'allow' } | { behavior: 'deny'; message: string };

export type TurnOutcome =
  | { ok: true; summary?: string }
  /** `crashed`: the agent process died (the supervisor may restart); otherwise an error the agent reported. */
  | { ok: false; reason: string; crashed: boolean };

/** What the adapter reports to the worker. All calls are fire-and-forget except `requestPermission`. */
export interface AgentCallbacks {
  transcript(entry: TranscriptDraft): void;
  telemetry(t: Telemetry): void;
  log(level: LogLevel, message: string): void;
  /**
   * A sign of life with nothing to record (a streamed tool input, tool progress, a protocol
   * message the transcript does not show). Only the hung-agent watchdog listens; call it freely.
   */
  activity(): void;
  sessionStarted(info: { agentSessionId: string; model?: string }): void;
  /**
   * Resolves when the policy or the user decides. `signal` aborts when the agent
   * withdraws the request (interrupt); the worker then retracts the approval.
   */
  requestPermission(req: PermissionRequest, signal: AbortSignal): Promise<PermissionDecision>;
  /** The current turn ended (result message / idle). A follow-up may start another turn. */
  turnEnded(outcome: TurnOutcome): void;
}

export interface AgentStartOptions {
  spec: JobSpec;
  /** The agent's own session id to resume, when the job ran before. */
  resumeSessionId?: string;
  /**
   * The first user message: `spec.prompt` when absent; `null` opens (or resumes)
   * the session idle, waiting for `send()` (a job restored in review).
   */
  firstMessage?: string | null;
  /** The CLI binary to use instead of the SDK's bundled one. */
  executablePath?: string;
  /** The environment for the agent CLI (a full environment: PATH, HOME...). */
  env: Record<string, string | undefined>;
  /**
   * Load the user's own configuration of this agent (Claude's user/project/local settings,
   * Copilot's `~/.copilot`: MCP servers, custom agents, settings). Off unless the user opted in
   * (config `agents.<agent>.userConfig`): such configuration can approve tools behind the
   * permission policy's back or add tools it never sees.
   */
  userConfig?: boolean;
  /**
   * A directory owned by this job (it survives worker restarts) where an agent that would
   * otherwise use the user's own configuration directory keeps its configuration and sessions
   * instead, when `userConfig` is off. Absent: the agent's own default (tests, probes).
   */
  agentHome?: string;
  /**
   * The job's operating-system sandbox: the adapter spawns its CLI through it. Absent only when
   * the user opted out (config `sandbox: "off"`) or in tests of the adapters themselves.
   */
  sandbox?: AgentSandbox;
  callbacks: AgentCallbacks;
}

/** A live agent session in one worktree. */
export interface AgentSession {
  /** Queue a user message for the same session; starts a new turn when idle. */
  send(content: string): void;
  /** Interrupt the current turn; the session stays usable. */
  interrupt(): Promise<void>;
  /** End the session and its CLI process. Idempotent. */
  close(): Promise<void>;
}

export interface AgentAdapter {
  readonly id: AgentId;
  /** Starts the session and its first turn with `spec.prompt` (or resumes). */
  start(opts: AgentStartOptions): AgentSession;
}
