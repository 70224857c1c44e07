/**
 * The jobs table: the read model of every job. Lifecycle columns (state,
 * failure reason, usage, session id, resolution, last_seq) are normally
 * written by the projection from events, so the table always agrees with the
 * event log; `updateJob` is for the supervisor's own fields (worktree, branch).
 */
import { sql, type Selectable } from 'kysely';
import type { Job, JobPage } from '../../api/contract.ts';
import { JOB_STATES, type AgentId, type JobState, type PermissionMode, type Resolution } from '../../machines/job-spec.ts';
import type { Db } from './database.ts';
import { decodeCursor, encodeCursor } from './job-cursor.ts';
import type { JobsTable } from './schema.ts';

export interface NewJob {
  id: string;
  repoId: string;
  title: string;
  prompt: string;
  agent: AgentId;
  model: string | null;
  permissionMode: PermissionMode;
  baseRef: string;
  branch: string;
  worktreePath: string;
  createdAt: string;
  /** Defaults to 'queued'. */
  state?: JobState;
}

/** Fields the supervisor may set directly; `null` clears a nullable column. */
export interface JobPatch {
  updatedAt: string;
  title?: string;
  state?: JobState;
  model?: string | null;
  baseRef?: string;
  branch?: string;
  worktreePath?: string;
  completedAt?: string | null;
  resolution?: Resolution | null;
  prUrl?: string | null;
  failureReason?: string | null;
  agentSessionId?: string | null;
}

export interface ListJobsOptions {
  /** Undefined or empty: every state. */
  states?: readonly JobState[];
  limit: number;
  cursor?: string;
}

const MAX_PAGE = 500;

// Every column but `snapshot`, which can be large and is read only on worker restart.
const COLUMNS = [
  'jobs.id', 'jobs.repo_id', 'jobs.title', 'jobs.prompt', 'jobs.agent', 'jobs.model', 'jobs.state',
  'jobs.permission_mode', 'jobs.base_ref', 'jobs.branch', 'jobs.worktree_path', 'jobs.created_at',
  'jobs.updated_at', 'jobs.completed_at', 'jobs.resolution', 'jobs.pr_url', 'jobs.failure_reason',
  'jobs.agent_session_id', 'jobs.input_tokens', 'jobs.output_tokens', 'jobs.cache_read_tokens',
  'jobs.turns', 'jobs.cost_usd',
] as const;

type JobRow = Omit<Selectable<JobsTable>, 'snapshot' | 'last_seq' | 'queue_order'> & { repo_path: string };

const selectJobs = (db: Db) =>
  db.q.selectFrom('jobs').innerJoin('repos', 'repos.id', 'jobs.repo_id').select(COLUMNS).select('repos.path as repo_path');

function toJob(r: JobRow): Job {
  const job: Job = {
    id: r.id,
    title: r.title,
    repo: r.repo_path,
    repoId: r.repo_id,
    prompt: r.prompt,
    agent: r.agent,
    model: r.model,
    state: r.state,
    permissionMode: r.permission_mode,
    baseRef: r.base_ref,
    branch: r.branch,
    worktreePath: r.worktree_path,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    usage: {
      inputTokens: r.input_tokens,
      outputTokens: r.output_tokens,
      cacheReadTokens: r.cache_read_tokens,
      costUsd: r.cost_usd,
      turns: r.turns,
    },
  };
  // Optional wire fields are absent, not null, when unset.
  if (r.completed_at !== null) job.completedAt = r.completed_at;
  if (r.resolution !== null) job.resolution = r.resolution;
  if (r.pr_url !== null) job.prUrl = r.pr_url;
  if (r.failure_reason !== null) job.failureReason = r.failure_reason;
  if (r.agent_session_id !== null) job.agentSessionId = r.agent_session_id;
  return job;
}

/** Inserts a job at the back of the FIFO queue. The repo must exist (foreign key). */
export function insertJob(db: Db, j: NewJob): Job {
  return db.tx(() => {
    db.run(
      db.q.insertInto('jobs').values({
        id: j.id,
        repo_id: j.repoId,
        title: j.title,
        prompt: j.prompt,
        agent: j.agent,
        model: j.model,
        state: j.state ?? 'queued',
        permission_mode: j.permissionMode,
        base_ref: j.baseRef,
        branch: j.branch,
        worktree_path: j.worktreePath,
        created_at: j.createdAt,
        updated_at: j.createdAt,
        // One statement, so the position is assigned atomically with the insert.
        queue_order: sql<number>`(select coalesce(max(queue_order), 0) + 1 from jobs)`,
      }),
    );
    const job = getJob(db, j.id);
    if (!job) throw new Error(`insertJob: job ${j.id} vanished after insert`);
    return job;
  });
}

export function getJob(db: Db, id: string): Job | undefined {
  const row = db.get(selectJobs(db).where('jobs.id', '=', id));
  return row && toJob(row);
}

/** Newest first. A cursor not issued by us throws AppError INVALID_CURSOR (HTTP 400). */
export function listJobs(db: Db, opts: ListJobsOptions): JobPage {
  const limit = Math.max(1, Math.min(MAX_PAGE, Math.trunc(opts.limit) || 1));
  const after = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor);
  let q = selectJobs(db);
  if (opts.states && opts.states.length > 0) q = q.where('jobs.state', 'in', opts.states);
  if (after)
    q = q.where((eb) => eb(eb.refTuple('jobs.created_at', 'jobs.id'), '<', eb.tuple(after.createdAt, after.id)));
  // One extra row tells whether there is a next page without a COUNT.
  const rows = db.all(q.orderBy('jobs.created_at', 'desc').orderBy('jobs.id', 'desc').limit(limit + 1));
  const page = rows.slice(0, limit).map(toJob);
  const last = page.at(-1);
  return { items: page, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

/** Returns false when no such job exists. */
export function updateJob(db: Db, id: string, patch: JobPatch): boolean {
  const set: Partial<Selectable<JobsTable>> = { updated_at: patch.updatedAt };
  if (patch.title !== undefined) set.title = patch.title;
  if (patch.state !== undefined) set.state = patch.state;
  if (patch.model !== undefined) set.model = patch.model;
  if (patch.baseRef !== undefined) set.base_ref = patch.baseRef;
  if (patch.branch !== undefined) set.branch = patch.branch;
  if (patch.worktreePath !== undefined) set.worktree_path = patch.worktreePath;
  if (patch.completedAt !== undefined) set.completed_at = patch.completedAt;
  if (patch.resolution !== undefined) set.resolution = patch.resolution;
  if (patch.prUrl !== undefined) set.pr_url = patch.prUrl;
  if (patch.failureReason !== undefined) set.failure_reason = patch.failureReason;
  if (patch.agentSessionId !== undefined) set.agent_session_id = patch.agentSessionId;
  return db.run(db.q.updateTable('jobs').set(set).where('id', '=', id)).changes === 1;
}

/** Every state present, zero for those with no job. */
export function countByState(db: Db): Record<JobState, number> {
  const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
  const rows = db.all(
    db.q.selectFrom('jobs').select((eb) => ['state', eb.fn.countAll<number>().as('n')]).groupBy('state'),
  );
  for (const r of rows) counts[r.state] = r.n;
  return counts;
}

/**
 * The highest event seq persisted for the job: what a (re)attaching worker is
 * acknowledged up to. 0 before any event, and for an unknown job.
 */
export function getLastSeq(db: Db, id: string): number {
  return db.get(db.q.selectFrom('jobs').select('last_seq').where('id', '=', id))?.last_seq ?? 0;
}

/** Persists the worker's statechart snapshot; returns false when no such job exists. */
export function setSnapshot(db: Db, id: string, snapshot: unknown): boolean {
  const text = snapshot === undefined ? null : JSON.stringify(snapshot);
  return db.run(db.q.updateTable('jobs').set({ snapshot: text }).where('id', '=', id)).changes === 1;
}

/** The parsed snapshot JSON (still `unknown`: the worker decodes it), or undefined when none. */
export function getSnapshot(db: Db, id: string): unknown {
  const text = db.get(db.q.selectFrom('jobs').select('snapshot').where('id', '=', id))?.snapshot;
  return text == null ? undefined : (JSON.parse(text) as unknown);
}

/** Every job in one of `states`, oldest queued first (no paging: for the scheduler and crash recovery). */
export function listByStates(db: Db, states: readonly JobState[]): Job[] {
  if (states.length === 0) return [];
  return db.all(selectJobs(db).where('jobs.state', 'in', states).orderBy('jobs.queue_order')).map(toJob);
}

/** Whether some job of the repo already uses `branch` (job branches must be unique per repo). */
export function branchInUse(db: Db, repoId: string, branch: string): boolean {
  const row = db.get(
    db.q.selectFrom('jobs').select('id').where('repo_id', '=', repoId).where('branch', '=', branch).limit(1),
  );
  return row !== undefined;
}

/** Queued jobs in FIFO order: the scheduler's work list. */
export function listQueued(db: Db): Job[] {
  return db.all(selectJobs(db).where('jobs.state', '=', 'queued').orderBy('jobs.queue_order')).map(toJob);
}
