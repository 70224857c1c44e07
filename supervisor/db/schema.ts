/**
 * The SQLite tables as kysely sees them. Columns are snake_case (SQL
 * convention); the repository modules map rows to the camelCase wire types
 * of api/contract.ts, so nothing outside supervisor/db/ sees these shapes.
 *
 * `Generated<T>` marks columns SQLite fills itself (autoincrement ids, and
 * counters with a DEFAULT), so inserts may omit them and selects still get T.
 * Booleans are INTEGER 0/1 because better-sqlite3 cannot bind a JS boolean.
 * JSON columns are TEXT: they are parsed in the repository that owns them.
 */
import type { Generated } from 'kysely';
import type { ApprovalKind, ApprovalResolution, DomainEventType } from '../../machines/domain-events.ts';
import type { AgentId, JobState, PermissionMode, Resolution } from '../../machines/job-spec.ts';

export interface ReposTable {
  id: string;
  /** Absolute and realpath'd by the caller, so one checkout is one row. */
  path: string;
  name: string;
  default_branch: string;
  created_at: string;
}

export interface JobsTable {
  id: string;
  repo_id: string;
  title: string;
  prompt: string;
  agent: AgentId;
  model: string | null;
  state: JobState;
  permission_mode: PermissionMode;
  base_ref: string;
  branch: string;
  worktree_path: string;
  /** ISO-8601 UTC from `toISOString()`: fixed width, so text order is time order (the list cursor relies on it). */
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  resolution: Resolution | null;
  pr_url: string | null;
  failure_reason: string | null;
  agent_session_id: string | null;
  input_tokens: Generated<number>;
  output_tokens: Generated<number>;
  cache_read_tokens: Generated<number>;
  turns: Generated<number>;
  cost_usd: Generated<number>;
  /** Highest per-job event seq persisted: what the supervisor acknowledges to a (re)attaching worker. */
  last_seq: Generated<number>;
  /** The worker's persisted statechart snapshot (JSON), for restarting it where it stopped. */
  snapshot: string | null;
  /** FIFO position, assigned at insert as max + 1: the scheduler starts queued jobs in this order. */
  queue_order: number;
}

export interface EventsTable {
  /** Global id (the SSE `id`): AUTOINCREMENT so it is never reused, even after deletes. */
  id: Generated<number>;
  job_id: string;
  /** Per-job seq assigned by the worker's outbox; UNIQUE(job_id, seq) makes re-sends idempotent. */
  seq: number;
  type: DomainEventType;
  /** JSON of the full DomainEvent (including `type`). */
  payload: string;
  ts: string;
}

export type ApprovalRowState = 'pending' | 'resolved';

export interface ApprovalsTable {
  id: string;
  job_id: string;
  kind: ApprovalKind;
  summary: string;
  /** JSON object: command, path, diff … */
  detail: string;
  /** 1 when policy forbids auto-approval. */
  explicit: 0 | 1;
  tool_name: string | null;
  requested_at: string;
  state: ApprovalRowState;
  resolved_at: string | null;
  resolution: ApprovalResolution | null;
  note: string | null;
}

/** One row at most (id = 1): the scrypt hash of the login password. */
export interface AuthPasswordTable {
  id: number;
  hash: string;
  updated_at: string;
}

export interface AuthSessionsTable {
  /** SHA-256 (hex) of the session cookie value; the value itself is never stored. */
  id_hash: string;
  created_at: string;
  expires_at: string;
  /** SHA-256 of the password hash in force when the session was made: another password ends it. Null before migration 3. */
  password_gen: string | null;
}

/** Secrets of the server other than the password (auth-repo.ts `SecretName`). */
export interface AuthSecretsTable {
  name: string;
  value: string;
  updated_at: string;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  /** SHA-256 (hex) of the token; the token is shown once, at creation. */
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
}

export interface PushSubscriptionsTable {
  endpoint: string;
  p256dh: string;
  auth: string;
  created_at: string;
}

/** One row (one = 1): the database's identity (migrations/004-storage-identity.ts). */
export interface StorageIdentityTable {
  one: number;
  db_id: string;
  created_at: string;
  probed_at: string | null;
}

export interface Schema {
  repos: ReposTable;
  jobs: JobsTable;
  events: EventsTable;
  approvals: ApprovalsTable;
  auth_password: AuthPasswordTable;
  auth_sessions: AuthSessionsTable;
  auth_secrets: AuthSecretsTable;
  api_tokens: ApiTokensTable;
  push_subscriptions: PushSubscriptionsTable;
  storage_identity: StorageIdentityTable;
}
