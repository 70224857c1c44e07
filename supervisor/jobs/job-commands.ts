import { transition } from 'xstate';
import type { DraftEvent, SequencedEvent } from '../../machines/domain-events.ts';
import { numberEvent } from '../../machines/domain-events.ts';
import type { JobMachineEvent } from '../../machines/job-events.ts';
import type { JobState } from '../../machines/job-spec.ts';
import { jobStateOf, snapshotAt } from '../../machines/job-state.ts';
import { jobMachine } from '../../machines/job.machine.ts';

/**
 * Runs a machine event for a job that has NO live worker (queued, preparing
 * before the worker starts, or after it is gone): the same statechart decides,
 * so the supervisor can never make a transition the worker would refuse.
 * Returns the numbered events to append, or `undefined` if the machine refuses.
 */
export function superviseTransition(
  job: { id: string; state: JobState; lastSeq: number; agentSessionId?: string; pendingApprovals?: string[] },
  event: JobMachineEvent,
  now: string,
): { to: JobState; events: SequencedEvent[] } | undefined {
  // The open approvals: a job that leaves its active states (failed, canceled) withdraws them, so none dangles.
  const snap = snapshotAt(job.state, { jobId: job.id, pendingApprovals: job.pendingApprovals ?? [], ...(job.agentSessionId ? { agentSessionId: job.agentSessionId } : {}) });
  if (!snap.can(event)) return undefined;
  const [next, actions] = transition(jobMachine, snap, event);
  const drafts = actions
    .filter((a) => (a.type as string) === 'xstate.emit')
    .map((a) => (a as { params?: unknown }).params as { event: DraftEvent })
    .map((p) => p.event);
  const events = drafts.map((d, i) => ({ seq: job.lastSeq + 1 + i, ts: now, event: numberEvent(d, job.lastSeq + 1 + i) }));
  return { to: jobStateOf(next), events };
}
