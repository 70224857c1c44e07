import type { SnapshotFrom } from 'xstate';
import { JOB_STATES, type JobState } from './job-spec.ts';
import { jobMachine, type JobContext } from './job.machine.ts';

type JobSnapshot = SnapshotFrom<typeof jobMachine>;

/** The contract's flat state name for a machine snapshot (`{active: 'running'}` → `running`). */
export function jobStateOf(snapshot: JobSnapshot): JobState {
  const v = snapshot.value;
  const name = typeof v === 'string' ? v : v.active;
  if (!JOB_STATES.includes(name as JobState)) throw new Error(`not a job state: ${JSON.stringify(v)}`);
  return name as JobState;
}

const ACTIVE: readonly JobState[] = ['running', 'waiting_for_approval', 'review'];

/** A snapshot at a given contract state: how the supervisor drives jobs that have no worker. */
export function snapshotAt(state: JobState, context: JobContext): JobSnapshot {
  const value = ACTIVE.includes(state) ? { active: state } : state;
  return jobMachine.resolveState({ value, context });
}
