/**
 * What the API needs from the supervisor, declared here so api/ depends on
 * nothing but these interfaces (the supervisor implements them).
 */
import type { ApprovalResolution, TranscriptEntry } from '../machines/domain-events.ts';
import type { AgentId, JobState, PermissionMode } from '../machines/job-spec.ts';
import type { Approval, Health, Job, JobPage, JobSnapshot, Repo, StoredEvent } from './contract.ts';

export interface CreateJobInput {
  repo: string;
  prompt: string;
  agent: AgentId;
  model?: string;
  baseRef?: string;
  branch?: string;
  permissionMode?: PermissionMode;
}

export interface LogLine {
  seq: number;
  ts: string;
  level: string;
  message: string;
}

export interface JobsPort {
  create(input: CreateJobInput): Promise<Job>;
  list(q: { states?: JobState[]; limit: number; cursor?: string }): JobPage;
  get(id: string): Job;
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

export interface EventsPort {
  /** Stored events after `afterId`, ascending, at most `limit`. */
  readAfter(afterId: number, q: { jobId?: string; limit: number }): StoredEvent[];
  lastEventId(): number;
  subscribe(filter: { jobId?: string }, listener: (e: StoredEvent) => void): () => void;
}

export type ResolveAction = 'merge' | 'create_pr' | 'discard';
export type MergeStrategy = 'merge' | 'squash' | 'ff-only';

export interface ReviewPort {
  /** The job's diff against the merge-base of its base ref, one bounded page. */
  diff(id: string, q: { offset?: number; maxFiles?: number; maxBytes?: number }): Promise<unknown>;
  resolve(id: string, action: ResolveAction, opts: { strategy?: MergeStrategy }): Promise<{ resolution: string; prUrl?: string; message: string }>;
}

export interface Ports {
  review: ReviewPort;
  health(): Health;
  jobs: JobsPort;
  approvals: ApprovalsPort;
  repos: ReposPort;
  events: EventsPort;
}
