/**
 * What the API needs from the supervisor, declared here so api/ depends on
 * nothing but these interfaces (the supervisor implements them).
 */
import type { ApprovalResolution, TranscriptEntry } from '../machines/domain-events.ts';
import type { AgentId, JobState, PermissionMode } from '../machines/job-spec.ts';
import type { AgentInfo, AgentModel } from './contract.ts';
import type { Approval, Health, Job, JobPage, JobSnapshot, LogLine, Repo, ResolveAction, ResolveResult, ShareView, StoredEvent } from './contract.ts';
export type { ResolveAction };

export interface CreateJobInput {
  repo: string;
  prompt: string;
  agent: AgentId;
  model?: string;
  baseRef?: string;
  branch?: string;
  permissionMode?: PermissionMode;
}

export interface JobsPort {
  create(input: CreateJobInput): Promise<Job>;
  list(q: { states?: JobState[]; limit: number; cursor?: string }): JobPage;
  get(id: string): Job;
  /** The job with a fresh disk-usage measurement of its worktree (GET /api/jobs/:id). */
  detail(id: string): Promise<Job>;
  snapshot(id: string): JobSnapshot;
  transcript(id: string, q: { beforeSeq?: number; limit: number }): TranscriptEntry[];
  logs(id: string, q: { level?: string; limit: number }): LogLine[];
  sendMessage(id: string, content: string): Promise<void>;
  cancel(id: string): Promise<Job>;
  resume(id: string, instruction?: string): Promise<Job>;
}

export interface ApprovalsPort {
  list(q: { state?: 'pending' | 'resolved'; jobId?: string }): Approval[];
  resolve(id: string, answer: { resolution: ApprovalResolution; note?: string }): Approval;
}

export interface ReposPort {
  list(): Repo[];
  add(path: string): Promise<Repo>;
  remove(id: string): void;
}

/** A stored event as its row holds it: `payload` is the event's JSON exactly as stored (for replay without re-encoding). */
export interface RawStoredEvent {
  id: number;
  jobId: string;
  seq: number;
  ts: string;
  type: string;
  payload: string;
}

export interface EventsPort {
  /** Stored events after `afterId`, ascending, at most `limit`. */
  readAfter(afterId: number, q: { jobId?: string; limit: number }): StoredEvent[];
  /** The same rows, undecoded: a replay of 100,000 events should not parse and re-serialize each one. */
  readRawAfter(afterId: number, q: { jobId?: string; limit: number }): RawStoredEvent[];
  lastEventId(): number;
  subscribe(filter: { jobId?: string }, listener: (e: StoredEvent) => void): () => void;
}

export type MergeStrategy = 'merge' | 'squash' | 'ff-only';

export interface ReviewPort {
  /** The job's diff against the merge-base of its base ref, one bounded page. */
  diff(id: string, q: { offset?: number; maxFiles?: number; maxBytes?: number }): Promise<unknown>;
  resolve(id: string, action: ResolveAction, opts: { strategy?: MergeStrategy }): Promise<ResolveResult>;
}

/** Who may use the API when CodePlane is reachable beyond loopback (or a password is set). */
export interface AuthPort {
  /** Requests must carry a session cookie or a bearer token. */
  required(): boolean;
  /** A session for a matching password, or undefined. */
  login(password: string): Promise<{ sessionId: string; expiresAt: string } | undefined>;
  logout(sessionId: string): void;
  /** False when unknown, expired, or made with another password than the one in force. */
  sessionValid(sessionId: string): boolean;
  tokenValid(token: string): boolean;
  /** A signed device cookie value for a browser that just logged in (it names the browser to the login limiter only). */
  newDeviceCookie(): string;
  /** The limiter key of a device cookie this server issued, or undefined for anything else. */
  deviceOf(cookie: string): string | undefined;
}

/** Read-only share links for one job (tokens live in memory). */
export interface SharesPort {
  create(jobId: string): { token: string; expiresAt: string };
  /** False when the token is unknown or already expired. */
  revoke(token: string): boolean;
  /** The job a live token grants, or undefined (unknown, expired, revoked). */
  jobFor(token: string): string | undefined;
  /** The job's share view, through the share projection (supervisor/share-projection.ts). */
  view(token: string): ShareView;
  /** The job a live token grants and the same projection for its event stream, or undefined. */
  streamFor(token: string): { jobId: string; project: (e: StoredEvent) => StoredEvent | undefined } | undefined;
  /** Calls `onEnd` once when the token is revoked or expires; returns an unsubscribe. */
  watch(token: string, onEnd: () => void): () => void;
}

export interface PushSubscriptionInput {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface PushPort {
  publicKey(): string;
  subscribe(sub: PushSubscriptionInput): void;
  /** False when no such subscription was stored. */
  unsubscribe(endpoint: string): boolean;
}

export interface AgentsPort {
  /** Every agent: found, version, signed in (cached briefly; probing starts the CLIs). */
  list(): Promise<AgentInfo[]>;
  /** The agent's models (cached); AGENT_NOT_FOUND, AGENT_UNAVAILABLE (503) or AGENT_NOT_AUTHENTICATED (409) otherwise. */
  models(id: string): Promise<AgentModel[]>;
}

/** Why a job's terminal ended; the API turns it into a WebSocket close code. */
export type TerminalEnd = 'job_resolved' | 'shell_exited' | 'server_stopping';

/** Where a terminal's output goes: one WebSocket. */
export interface TerminalSink {
  /** Output: first the replayed scrollback (one call), then live output as the shell prints it. */
  output(data: string): void;
  /** Called once when the terminal ends (never after `detach`). */
  end(reason: TerminalEnd, message: string): void;
}

export interface TerminalAttachment {
  input(data: string | Buffer): void;
  resize(cols: number, rows: number): void;
  /** While any attachment is backed up the shell's output is paused (the program writing blocks), so nothing piles up in memory. */
  backedUp(on: boolean): void;
  /** Idempotent; the shell keeps running for the next attachment. */
  detach(): void;
}

/** One shell per job, in its worktree, shared by every attachment. */
export interface TerminalsPort {
  /** Throws JOB_NOT_FOUND (404), or NO_WORKTREE (409) when the job has no worktree (not started yet, or resolved). */
  check(jobId: string): void;
  /** Attaches to the job's shell, starting one when none runs; `size` resizes it. Throws as `check`. */
  attach(jobId: string, sink: TerminalSink, size?: { cols: number; rows: number }): TerminalAttachment;
}

export interface Ports {
  agents: AgentsPort;
  auth: AuthPort;
  shares: SharesPort;
  push: PushPort;
  review: ReviewPort;
  health(): Health;
  jobs: JobsPort;
  approvals: ApprovalsPort;
  repos: ReposPort;
  events: EventsPort;
}
