import type { ContainmentAlarm, ApprovalRequest, ApprovalResolution, DiffFileStat, DiffStats, LogLevel, RestartKind, Telemetry, TranscriptDraft } from './domain-events.ts';
import type { Resolution } from './job-spec.ts';

/** Everything the job machine reacts to: from the supervisor, the worker, or the agent. */
export type JobMachineEvent =
  // lifecycle, decided by the supervisor
  | { type: 'PREPARE' }
  | { type: 'PREPARE_FAILED'; reason: string }
  /** A line of the repository's setup command, run in the new worktree before the agent starts. */
  | { type: 'SETUP.LOG'; level: LogLevel; message: string }
  | { type: 'START' }
  | { type: 'CANCEL'; reason?: string }
  | { type: 'RESUME'; instruction?: string }
  | { type: 'RESOLVE'; resolution: Resolution; prUrl?: string }
  | { type: 'WORKER_LOST'; reason: string }
  /** The job's repository or worktree vanished from disk: nothing it does can land, so it fails with the reason. */
  | { type: 'WORKSPACE_LOST'; reason: string }
  /**
   * A new worker continues the job from its persisted snapshot (after a crash or a server restart).
   * `heldApprovals`: the approvals that stay pending (the user can still answer them; the agent,
   * whose turn was interrupted, is told the answers). Absent or empty: open approvals are withdrawn.
   */
  | { type: 'RECOVERED'; reason: string; kind: RestartKind; heldApprovals?: string[] }
  /** The server restarted and re-attached to this still running worker: only recorded. */
  | { type: 'RESTART_NOTED'; kind: RestartKind; reason: string }
  // the user, through the supervisor
  | { type: 'FOLLOW_UP'; content: string }
  /** The supervisor computed the worktree's diff (it owns git; the job owns the event's seq). */
  | { type: 'DIFF.UPDATED'; stats: DiffStats; files: DiffFileStat[] }
  /** The supervisor's ref guard undid changes the agent's turn made outside the job's branch. */
  | { type: 'GUARD.ALARM'; alarm: ContainmentAlarm }
  | { type: 'APPROVAL_DECIDED'; approvalId: string; resolution: ApprovalResolution; note?: string }
  // the agent, through its adapter
  | { type: 'AGENT.TRANSCRIPT'; entry: TranscriptDraft }
  | { type: 'AGENT.TELEMETRY'; telemetry: Telemetry }
  | { type: 'AGENT.LOG'; level: LogLevel; message: string }
  | { type: 'AGENT.SESSION'; agentSessionId: string; model?: string }
  | { type: 'AGENT.APPROVAL_REQUESTED'; approval: ApprovalRequest }
  | { type: 'AGENT.APPROVAL_WITHDRAWN'; approvalId: string; reason: string }
  | { type: 'AGENT.TURN_COMPLETED'; summary?: string }
  | { type: 'AGENT.TURN_FAILED'; reason: string };

/** What the machine tells its agent actor. */
export type AgentCommand =
  | { type: 'SEND'; content: string }
  | { type: 'DECISION'; approvalId: string; resolution: ApprovalResolution; note?: string };
