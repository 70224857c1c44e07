/**
 * Approval requests and their answers. An approval is answered at most once:
 * the user over HTTP and the worker (via an `approval_resolved` event) may
 * race, and whoever's conditional UPDATE matches `state = 'pending'` first
 * wins. SQLite serialises writers, so the check and the write cannot split.
 */
import type { Selectable } from 'kysely';
import type { Approval } from '../../api/contract.ts';
import type { ApprovalRequest, ApprovalResolution } from '../../machines/domain-events.ts';
import type { Db } from './database.ts';
import type { ApprovalRowState, ApprovalsTable } from './schema.ts';

export interface ApprovalAnswer {
  resolution: ApprovalResolution;
  note?: string;
  resolvedAt: string;
}

export type ResolveApprovalResult =
  | { ok: true; approval: Approval }
  | { ok: false; code: 'APPROVAL_NOT_FOUND' | 'APPROVAL_ALREADY_RESOLVED' };

function toApproval(r: Selectable<ApprovalsTable>): Approval {
  const a: Approval = {
    id: r.id,
    jobId: r.job_id,
    kind: r.kind,
    summary: r.summary,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    requestedAt: r.requested_at,
    explicit: r.explicit === 1,
  };
  if (r.resolved_at !== null) a.resolvedAt = r.resolved_at;
  if (r.resolution !== null) a.resolution = r.resolution;
  if (r.note !== null) a.note = r.note;
  return a;
}

/**
 * Stores a pending approval. Idempotent by id (a re-sent request keeps the
 * first row, and never reopens an answered one). Returns whether it was new.
 */
export function insertApproval(db: Db, jobId: string, req: ApprovalRequest): boolean {
  const { changes } = db.run(
    db.q
      .insertInto('approvals')
      .orIgnore()
      .values({
        id: req.id,
        job_id: jobId,
        kind: req.kind,
        summary: req.summary,
        detail: JSON.stringify(req.detail),
        explicit: req.explicit ? 1 : 0,
        tool_name: req.toolName ?? null,
        requested_at: req.requestedAt,
        state: 'pending',
      }),
  );
  return changes === 1;
}

export function getApproval(db: Db, id: string): Approval | undefined {
  const row = db.get(db.q.selectFrom('approvals').selectAll().where('id', '=', id));
  return row && withInterruption(db, row, toApproval(row));
}

/**
 * A pending approval whose asking turn a restart interrupted (a `job_restarted` event held it)
 * says when: the agent is no longer waiting inside that turn, and resumes with the answer.
 * Few rows: the (job_id, type) index finds the job's restarts.
 */
function withInterruption(db: Db, row: Selectable<ApprovalsTable>, a: Approval): Approval {
  if (row.state !== 'pending') return a;
  const restarts = db.all(db.q.selectFrom('events').select(['ts', 'payload']).where('job_id', '=', row.job_id).where('type', '=', 'job_restarted').orderBy('id', 'desc'));
  for (const r of restarts) {
    const held = (JSON.parse(r.payload) as { heldApprovals?: unknown }).heldApprovals;
    if (Array.isArray(held) && held.includes(row.id)) return { ...a, interruptedAt: r.ts };
  }
  return a;
}

/** Oldest request first, optionally only one state and/or one job. */
export function listApprovals(db: Db, filter: { state?: ApprovalRowState; jobId?: string } = {}): Approval[] {
  let q = db.q.selectFrom('approvals').selectAll();
  if (filter.state !== undefined) q = q.where('state', '=', filter.state);
  if (filter.jobId !== undefined) q = q.where('job_id', '=', filter.jobId);
  return db.all(q.orderBy('requested_at').orderBy('id')).map((row) => withInterruption(db, row, toApproval(row)));
}

/**
 * Answers a pending approval. First answer wins: a second one gets
 * APPROVAL_ALREADY_RESOLVED and changes nothing; an unknown id APPROVAL_NOT_FOUND.
 */
export function resolveApproval(db: Db, id: string, answer: ApprovalAnswer): ResolveApprovalResult {
  return db.tx(() => {
    const { changes } = db.run(
      db.q
        .updateTable('approvals')
        .set({
          state: 'resolved',
          resolution: answer.resolution,
          resolved_at: answer.resolvedAt,
          note: answer.note ?? null,
        })
        .where('id', '=', id)
        .where('state', '=', 'pending'),
    );
    const approval = getApproval(db, id);
    if (!approval) return { ok: false, code: 'APPROVAL_NOT_FOUND' };
    if (changes === 0) return { ok: false, code: 'APPROVAL_ALREADY_RESOLVED' };
    return { ok: true, approval };
  });
}

/**
 * An approval as the agent asked for it (its tool name included) with its answer, if any:
 * what a worker that continues the job needs to hold it across a restart.
 */
export function storedRequest(db: Db, id: string): { request: ApprovalRequest; jobId: string; answer?: Omit<ApprovalAnswer, 'resolvedAt'> } | undefined {
  const r = db.get(db.q.selectFrom('approvals').selectAll().where('id', '=', id));
  if (!r) return undefined;
  const request: ApprovalRequest = {
    id: r.id,
    kind: r.kind,
    summary: r.summary,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    requestedAt: r.requested_at,
    explicit: r.explicit === 1,
    ...(r.tool_name !== null ? { toolName: r.tool_name } : {}),
  };
  const answer = r.resolution !== null ? { resolution: r.resolution, ...(r.note !== null ? { note: r.note } : {}) } : undefined;
  return { request, jobId: r.job_id, ...(answer ? { answer } : {}) };
}
