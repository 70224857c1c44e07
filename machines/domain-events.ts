import type { AgentId, JobState, Resolution } from './job-spec.ts';

/**
 * Domain events: the wire names and payloads of CONTRACT.md (minus `jobId` and
 * `ts`, which the event envelope carries). A closed union: every consumer
 * switches over `type` exhaustively.
 */
export type TranscriptRole = 'agent' | 'agent_delta' | 'reasoning' | 'operator' | 'tool_call' | 'tool_result' | 'system';

export interface TranscriptEntry {
  /** The per-job seq of the event that carried this entry. */
  seq: number;
  role: TranscriptRole;
  text?: string;
  toolName?: string;
  toolInput?: unknown;
  toolOutput?: string;
  toolSuccess?: boolean;
  toolCallId?: string;
  durationMs?: number;
}
/** An entry before the outbox has numbered it. */
export type TranscriptDraft = Omit<TranscriptEntry, 'seq'>;

export type ApprovalKind = 'shell' | 'write' | 'read' | 'url' | 'mcp' | 'other';
export type ApprovalResolution = 'approved' | 'rejected';

export interface ApprovalRequest {
  id: string;
  kind: ApprovalKind;
  summary: string;
  detail: Record<string, unknown>;
  requestedAt: string;
  /** True when policy forbids auto-approval (a hard gate or a path outside the worktree). */
  explicit: boolean;
  toolName?: string;
}

export interface DiffFileStat {
  path: string;
  status: 'added' | 'modified' | 'deleted' | 'renamed';
  additions: number;
  deletions: number;
}
export interface DiffStats {
  files: number;
  additions: number;
  deletions: number;
}

export interface Telemetry {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  costUsd?: number;
  model?: string;
  turns?: number;
}

/**
 * A ref (or HEAD) that an agent's turn changed outside the job's own branch,
 * and what the ref guard did about it (issue 13).
 */
export interface ContainmentChange {
  /** `refs/…`, `HEAD` (the repository's, in the user's checkout), or `worktree:HEAD` (the job's worktree). */
  ref: string;
  change: 'created' | 'moved' | 'deleted';
  /** Object id, `ref: <target>` for a symbolic ref, or `broken`; absent when created. */
  before?: string;
  /** The same, as found after the turn; absent when deleted. */
  after?: string;
  /** Put back to `before`. */
  undone: boolean;
  /** Why not undone (it changed again since the check, git refused). */
  reason?: string;
}

/** What the ref guard found after a turn, and what it did. */
export interface ContainmentAlarm {
  message: string;
  /** At most 100 (the first by name); `omitted` counts the rest, which `message` includes in its total. */
  changes: ContainmentChange[];
  omitted?: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Why a job's worker (or the server above it) went away and came back:
 * `graceful_stop` the server was stopped (cpl down, SIGTERM) and the worker checkpointed;
 * `crash` the worker died (killed, crashed) while the server ran;
 * `lost` the server found the worker gone at start without a graceful stop (a reboot, kill -9 of both);
 * `restart` the server restarted (cpl restart, or it was killed) and re-attached to the still running worker.
 */
export type RestartKind = 'graceful_stop' | 'crash' | 'lost' | 'restart';
export const RESTART_KINDS: readonly RestartKind[] = ['graceful_stop', 'crash', 'lost', 'restart'];

export type DomainEvent =
  | { type: 'job_state_changed'; from: JobState; to: JobState; reason?: string }
  | { type: 'transcript_update'; entry: TranscriptEntry }
  | { type: 'approval_requested'; approval: ApprovalRequest }
  | { type: 'approval_resolved'; approvalId: string; resolution: ApprovalResolution; note?: string }
  | { type: 'log_line'; level: LogLevel; message: string }
  | { type: 'diff_update'; stats: DiffStats; files: DiffFileStat[] }
  | ({ type: 'telemetry' } & Telemetry)
  | { type: 'job_resolved'; resolution: Resolution; prUrl?: string; conflictFiles?: string[] }
  | { type: 'session_started'; agentSessionId: string; model?: string }
  | { type: 'job_created'; title: string; agent: AgentId; repoId: string }
  | ({ type: 'containment_alarm' } & ContainmentAlarm)
  /** One restart the job went through; `heldApprovals`: approvals that stay pending across it (the agent resumes once they are answered). */
  | { type: 'job_restarted'; kind: RestartKind; reason: string; heldApprovals?: string[] };

export type DomainEventType = DomainEvent['type'];

export const DOMAIN_EVENT_TYPES: readonly DomainEventType[] = [
  'job_state_changed',
  'transcript_update',
  'approval_requested',
  'approval_resolved',
  'log_line',
  'diff_update',
  'telemetry',
  'job_resolved',
  'session_started',
  'job_created',
  'containment_alarm',
  'job_restarted',
];

/** An event numbered by its job's outbox, as it travels and is stored. */
export interface SequencedEvent {
  seq: number;
  ts: string;
  event: DomainEvent;
}

/** An event as the machine emits it: a transcript entry has no seq until the outbox numbers it. */
export type DraftEvent =
  | Exclude<DomainEvent, { type: 'transcript_update' }>
  | { type: 'transcript_update'; entry: TranscriptDraft };

/** Numbers a draft: transcript entries take the seq of the event that carries them. */
export function numberEvent(draft: DraftEvent, seq: number): DomainEvent {
  return draft.type === 'transcript_update' ? { type: 'transcript_update', entry: { ...draft.entry, seq } } : draft;
}
