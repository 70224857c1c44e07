/**
 * Folds stored events into the read model (jobs columns, approvals rows).
 * Called by the EventLog in the same transaction as the insert, so the
 * tables can never disagree with the log: either both change or neither.
 * It runs only for newly inserted events, so it never applies one twice.
 * (`last_seq`, which every event moves, is advanced once per batch by the EventLog.)
 */
import type { StoredEvent } from '../../api/contract.ts';
import { assertNever } from '../../machines/decode.ts';
import { isTerminal } from '../../machines/job-spec.ts';
import { insertApproval } from '../db/approvals-repo.ts';
import type { Db } from '../db/database.ts';

export function applyEvent(db: Db, stored: StoredEvent): void {
  const { jobId, ts, event: e } = stored;
  // Built only by the cases that write (streamed deltas, the bulk of all events, write nothing here).
  const jobs = () => db.q.updateTable('jobs').where('id', '=', jobId);
  switch (e.type) {
    case 'job_state_changed':
      db.run(
        jobs().set({
          state: e.to,
          updated_at: ts,
          // A resumed job is not completed any more, so completed_at follows the state both ways.
          completed_at: isTerminal(e.to) ? ts : null,
          // The reason of the state the job is in: set on failure, gone in any other state. Keyed on `to`
          // alone: a job recorded failed while a worker it still had moved it on (that worker's event says
          // `from: running`) would otherwise reach review still carrying the old reason.
          failure_reason: e.to === 'failed' ? (e.reason ?? null) : null,
        }),
      );
      break;
    case 'session_started':
      db.run(
        jobs().set({
          agent_session_id: e.agentSessionId,
          updated_at: ts,
          ...(e.model !== undefined ? { model: e.model } : {}),
        }),
      );
      break;
    case 'telemetry':
      // Each telemetry event reports one turn's usage: the counters are sums.
      db.run(
        jobs().set((eb) => ({
          input_tokens: eb('input_tokens', '+', e.inputTokens),
          output_tokens: eb('output_tokens', '+', e.outputTokens),
          cache_read_tokens: eb('cache_read_tokens', '+', e.cacheReadTokens ?? 0),
          cost_usd: eb('cost_usd', '+', e.costUsd ?? 0),
          turns: eb('turns', '+', e.turns ?? 0),
          updated_at: ts,
        })),
      );
      break;
    case 'approval_requested':
      insertApproval(db, jobId, e.approval);
      break;
    case 'approval_resolved':
      // The user's HTTP answer may have resolved it first: then the row already says so and stays.
      db.run(
        db.q
          .updateTable('approvals')
          .set({ state: 'resolved', resolution: e.resolution, resolved_at: ts, note: e.note ?? null })
          .where('id', '=', e.approvalId)
          .where('job_id', '=', jobId)
          .where('state', '=', 'pending'),
      );
      break;
    case 'job_resolved':
      db.run(jobs().set({ resolution: e.resolution, pr_url: e.prUrl ?? null, updated_at: ts }));
      break;
    case 'transcript_update':
    case 'log_line':
    case 'diff_update':
    case 'job_created':
    case 'containment_alarm':
    case 'job_restarted':
      // Read straight from the event log (transcript, logs, diff stats), or already in the
      // row (job_created is announced after insertJob wrote it); a restart changes no column: nothing to fold.
      break;
    default:
      assertNever(e, 'event type');
  }
}
