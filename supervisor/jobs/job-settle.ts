/**
 * Waiting for a job to leave a set of states, driven by the event hub (no polling): a cancel
 * answers with the state the job went to, not the one it was leaving.
 */
import type { Job } from '../../api/contract.ts';
import type { JobState } from '../../machines/job-spec.ts';
import type { EventHub } from '../events/event-hub.ts';

/**
 * Resolves with the job once its state is not in `from` (checked at once, then on each of its
 * state changes), or as it is after `timeoutMs`.
 */
export function jobLeaves(hub: EventHub, jobId: string, from: ReadonlySet<JobState>, get: () => Job, timeoutMs: number): Promise<Job> {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      resolve(get());
    };
    const unsubscribe = hub.subscribe({ jobId }, (e) => {
      if (e.event.type === 'job_state_changed' && !from.has(e.event.to)) finish();
    });
    const timer = setTimeout(finish, timeoutMs);
    timer.unref();
    if (!from.has(get().state)) finish();
  });
}
