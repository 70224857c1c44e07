/**
 * TYPE-ONLY wire types of CONTRACT.md, shared by the API and the UI.
 * No runtime code here: the UI imports this file.
 */
import type { DiffFile, DiffHunk, DiffLine, DiffResult } from '../machines/diff-types.ts';
import type { ApprovalKind, ApprovalResolution, ContainmentChange, DomainEvent, LogLevel, TranscriptEntry } from '../machines/domain-events.ts';
import type { AgentId, JobState, PermissionMode, Resolution } from '../machines/job-spec.ts';

export type { AgentId, JobState, PermissionMode, Resolution, TranscriptEntry, DomainEvent, ContainmentChange };
/** `GET /api/jobs/:id/diff`: one page of the job's diff (see machines/diff-types.ts). */
export type { DiffFile, DiffHunk, DiffLine, DiffResult };

/** `GET /api/jobs/:id/logs`. */
export interface LogLine {
  seq: number;
  ts: string;
  level: LogLevel;
  message: string;
}

/** `POST /api/jobs/:id/resolve {action}`. */
export type ResolveAction = 'merge' | 'create_pr' | 'discard';

/** Its answer. */
export interface ResolveResult {
  resolution: Resolution;
  prUrl?: string;
  message: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  costUsd: number;
  turns: number;
}

export interface Job {
  id: string;
  title: string;
  repo: string;
  repoId: string;
  prompt: string;
  agent: AgentId;
  model: string | null;
  state: JobState;
  permissionMode: PermissionMode;
  baseRef: string;
  branch: string;
  worktreePath: string;
  createdAt: string;
  updatedAt: string;
  completedAt?: string;
  resolution?: Resolution;
  prUrl?: string;
  failureReason?: string;
  agentSessionId?: string;
  usage?: Usage;
  /** Disk used by the job's worktree (absent once the worktree is gone or before it exists). */
  diskUsage?: JobDiskUsage;
  /** Set when this server runs agents WITHOUT the operating-system sandbox (config `sandbox: "off"`). */
  unsandboxed?: true;
}

export interface JobDiskUsage {
  bytes: number;
  /** False when the measurement stopped at its time budget: `bytes` is then a lower bound. */
  complete: boolean;
  measuredAt: string;
}

export interface Repo {
  id: string;
  path: string;
  name: string;
  defaultBranch: string;
}

export interface Approval {
  id: string;
  jobId: string;
  kind: ApprovalKind;
  summary: string;
  detail: Record<string, unknown>;
  requestedAt: string;
  resolvedAt?: string;
  resolution?: ApprovalResolution;
  note?: string;
  explicit: boolean;
  /** While pending: when a restart interrupted the agent's turn that asked (it resumes with the answer). */
  interruptedAt?: string;
}

/** A stored event as SSE and the API carry it: the domain event plus its envelope. */
export interface StoredEvent {
  /** Global, strictly increasing: the SSE `id`. */
  id: number;
  jobId: string;
  seq: number;
  ts: string;
  event: DomainEvent;
}

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string; details?: Record<string, unknown> };
}

export interface Health {
  /** `degraded` while the storage refuses writes (see `storage`). */
  status: 'ok' | 'degraded';
  version: string;
  uptimeSeconds: number;
  activeJobs: number;
  queuedJobs: number;
  storage: StorageHealth;
}

/** What went wrong with a database write (a full disk, an I/O error, another process's lock, a read-only file). */
export type StorageFaultCause = 'disk_full' | 'io_error' | 'locked' | 'read_only_file';
/** The database is not the one CodePlane recorded: gone at start, replaced, or deleted while running. */
export type IdentityProblem = 'missing' | 'replaced' | 'deleted';

/** Whether the database takes writes; anything but `ok` means writes answer 503 STORAGE_UNAVAILABLE. */
export type StorageView =
  | { state: 'ok' }
  | { state: 'read_only'; cause: StorageFaultCause; reason: string; since: string }
  | { state: 'identity_problem'; problem: IdentityProblem; reason: string; since: string };

/** `/api/health`'s `storage`: the state, and the log lines a full disk made the server drop. */
export type StorageHealth = StorageView & { logLinesDropped: number };

/** `GET /api/agents`: whether each agent can run here. `authenticated: null` = could not tell. */
export interface AgentInfo {
  id: AgentId;
  name: string;
  /** The CLI binary was found (and starts). */
  available: boolean;
  authenticated: boolean | null;
  version?: string;
  /** What to do when the agent is not available or not signed in. */
  hint?: string;
  /** Where the CLI binary is. */
  path?: string;
}

/** `GET /api/agents/:id/models`. */
export interface AgentModel {
  id: string;
  name: string;
}

export interface JobPage {
  items: Job[];
  nextCursor: string | null;
}

export interface JobSnapshot {
  job: Job;
  transcript: TranscriptEntry[];
  pendingApprovals: Approval[];
  diff: { files: number; additions: number; deletions: number } | null;
  lastEventId: number;
  /** The agent message being streamed when the snapshot was taken (its deltas so far); absent when none. */
  streaming?: string;
  /** The job's containment alarms (the ref guard undid changes outside its branch), oldest first, at most 50. */
  alarms: ContainmentAlarmView[];
}

/** A `containment_alarm` event as the job page shows it. */
export interface ContainmentAlarmView {
  seq: number;
  ts: string;
  message: string;
  /** Changes not listed in `changes` (an alarm lists at most 100). */
  omitted?: number;
  changes: ContainmentChange[];
}

/** What a share link shows: the job without local paths or session ids, its transcript and diff summary. */
export interface SharedJob {
  id: string;
  title: string;
  repoName: string;
  prompt: string;
  agent: AgentId;
  model: string | null;
  state: JobState;
  branch: string;
  baseRef: string;
  createdAt: string;
  updatedAt: string;
  completedAt?: string;
  resolution?: Resolution;
  prUrl?: string;
  failureReason?: string;
  usage?: Usage;
}

export interface ShareView {
  job: SharedJob;
  transcript: TranscriptEntry[];
  pendingApprovals: { id: string; kind: ApprovalKind; summary: string; requestedAt: string }[];
  diff: { stats: { files: number; additions: number; deletions: number }; files: { path: string; status: string; additions: number; deletions: number }[] } | null;
  lastEventId: number;
  expiresAt: string;
}
