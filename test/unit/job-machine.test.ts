import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialTransition, transition } from 'xstate';
import type { DraftEvent } from '../../machines/domain-events.ts';
import type { JobMachineEvent } from '../../machines/job-events.ts';
import type { JobState } from '../../machines/job-spec.ts';
import { jobStateOf, snapshotAt } from '../../machines/job-state.ts';
import { jobMachine } from '../../machines/job.machine.ts';

const approval = (id: string) => ({
  id,
  kind: 'shell' as const,
  summary: 'rm -rf build',
  detail: { command: 'rm -rf build' },
  requestedAt: '2026-11-24T00:00:00.000Z',
  explicit: false,
});

interface Row {
  from: JobState;
  pending?: string[];
  event: JobMachineEvent;
  to: JobState;
  /** The names of the emitted domain events, in order (`job_state_changed:from>to` for state changes). */
  emits: string[];
}

/** Reaches a state the way a job does, through real transitions, so invoked actors exist. */
const PATHS: Record<JobState, JobMachineEvent[]> = {
  queued: [],
  preparing: [{ type: 'PREPARE' }],
  running: [{ type: 'PREPARE' }, { type: 'START' }],
  waiting_for_approval: [{ type: 'PREPARE' }, { type: 'START' }],
  review: [{ type: 'PREPARE' }, { type: 'START' }, { type: 'AGENT.TURN_COMPLETED' }],
  completed: [{ type: 'PREPARE' }, { type: 'START' }, { type: 'AGENT.TURN_COMPLETED' }, { type: 'RESOLVE', resolution: 'merged' }],
  failed: [{ type: 'PREPARE' }, { type: 'START' }, { type: 'AGENT.TURN_FAILED', reason: 'x' }],
  canceled: [{ type: 'CANCEL' }],
};

function reach(state: JobState, pending: string[]) {
  let snap = initialTransition(jobMachine, { jobId: 'j1' })[0];
  const events = [...PATHS[state], ...pending.map((id): JobMachineEvent => ({ type: 'AGENT.APPROVAL_REQUESTED', approval: approval(id) }))];
  for (const e of events) snap = transition(jobMachine, snap, e)[0];
  assert.equal(jobStateOf(snap), state);
  return snap;
}

function run(from: JobState, pending: string[], event: JobMachineEvent) {
  const snap = reach(from, pending);
  const [next, actions] = transition(jobMachine, snap, event);
  return { next, emitted: emittedOf(actions) };
}

/** The domain events among executable actions (typed loosely by xstate, so narrowed here). */
function emittedOf(actions: readonly { type: string; params?: unknown }[]): DraftEvent[] {
  return actions.filter((a) => a.type === 'xstate.emit').map((a) => (a.params as { event: DraftEvent }).event);
}

const label = (e: DraftEvent): string => (e.type === 'job_state_changed' ? `${e.type}:${e.from}>${e.to}` : e.type);

const ok = (from: JobState, event: JobMachineEvent, to: JobState, emits: string[], pending?: string[]): Row => ({
  from, event, to, emits, ...(pending ? { pending } : {}),
});
const ignored = (from: JobState, event: JobMachineEvent, pending?: string[]): Row => ok(from, event, from, [], pending);

const table: Row[] = [
  ok('queued', { type: 'PREPARE' }, 'preparing', ['job_state_changed:queued>preparing']),
  ok('queued', { type: 'CANCEL' }, 'canceled', ['job_state_changed:queued>canceled']),
  ignored('queued', { type: 'START' }),
  ignored('queued', { type: 'RESOLVE', resolution: 'merged' }),
  ignored('queued', { type: 'FOLLOW_UP', content: 'hi' }),
  ok('preparing', { type: 'START' }, 'running', ['job_state_changed:preparing>running']),
  ok('preparing', { type: 'PREPARE_FAILED', reason: 'bad ref' }, 'failed', ['job_state_changed:preparing>failed']),
  ok('preparing', { type: 'CANCEL' }, 'canceled', ['job_state_changed:preparing>canceled']),
  ignored('preparing', { type: 'AGENT.TURN_COMPLETED' }),
  ok('preparing', { type: 'SETUP.LOG', level: 'info', message: 'npm ci' }, 'preparing', ['log_line']),
  ignored('running', { type: 'SETUP.LOG', level: 'info', message: 'late' }),
  ok('running', { type: 'AGENT.TRANSCRIPT', entry: { role: 'agent', text: 'hi' } }, 'running', ['transcript_update']),
  ok('running', { type: 'AGENT.TELEMETRY', telemetry: { inputTokens: 1, outputTokens: 2 } }, 'running', ['telemetry']),
  ok('running', { type: 'AGENT.LOG', level: 'warn', message: 'x' }, 'running', ['log_line']),
  ok('running', { type: 'AGENT.SESSION', agentSessionId: 's1' }, 'running', ['session_started']),
  ok('running', { type: 'AGENT.APPROVAL_REQUESTED', approval: approval('a1') }, 'waiting_for_approval', [
    'approval_requested',
    'job_state_changed:running>waiting_for_approval',
  ]),
  ok('running', { type: 'AGENT.TURN_COMPLETED' }, 'review', ['job_state_changed:running>review']),
  ok('running', { type: 'AGENT.TURN_FAILED', reason: 'boom' }, 'failed', ['job_state_changed:running>failed']),
  ok('running', { type: 'FOLLOW_UP', content: 'also do x' }, 'running', ['transcript_update']),
  ok('running', { type: 'CANCEL' }, 'canceled', ['job_state_changed:running>canceled']),
  ok('running', { type: 'WORKER_LOST', reason: 'gone' }, 'failed', ['job_state_changed:running>failed']),
  // no resolve while running, no answer to an approval that was never asked
  ignored('running', { type: 'RESOLVE', resolution: 'merged' }),
  ignored('running', { type: 'APPROVAL_DECIDED', approvalId: 'a1', resolution: 'approved' }),
  ignored('running', { type: 'START' }),
  ok('waiting_for_approval', { type: 'APPROVAL_DECIDED', approvalId: 'a1', resolution: 'approved' }, 'running', [
    'approval_resolved',
    'job_state_changed:waiting_for_approval>running',
  ], ['a1']),
  ok('waiting_for_approval', { type: 'APPROVAL_DECIDED', approvalId: 'a1', resolution: 'rejected', note: 'no' }, 'waiting_for_approval', [
    'approval_resolved',
  ], ['a1', 'a2']),
  ignored('waiting_for_approval', { type: 'APPROVAL_DECIDED', approvalId: 'zz', resolution: 'approved' }, ['a1']),
  ok('waiting_for_approval', { type: 'AGENT.APPROVAL_REQUESTED', approval: approval('a2') }, 'waiting_for_approval', [
    'approval_requested',
  ], ['a1']),
  ok('waiting_for_approval', { type: 'AGENT.APPROVAL_WITHDRAWN', approvalId: 'a1', reason: 'interrupted' }, 'running', [
    'approval_resolved',
    'job_state_changed:waiting_for_approval>running',
  ], ['a1']),
  ok('waiting_for_approval', { type: 'CANCEL' }, 'canceled', ['approval_resolved', 'job_state_changed:waiting_for_approval>canceled'], ['a1']),
  ok('waiting_for_approval', { type: 'AGENT.TURN_FAILED', reason: 'crash' }, 'failed', [
    'approval_resolved',
    'job_state_changed:waiting_for_approval>failed',
  ], ['a1']),
  ignored('waiting_for_approval', { type: 'RESOLVE', resolution: 'merged' }, ['a1']),
  ignored('waiting_for_approval', { type: 'AGENT.TURN_COMPLETED' }, ['a1']),
  ok('review', { type: 'RESOLVE', resolution: 'merged' }, 'completed', ['job_resolved', 'job_state_changed:review>completed']),
  ok('review', { type: 'FOLLOW_UP', content: 'more' }, 'running', ['transcript_update', 'job_state_changed:review>running']),
  ok('review', { type: 'RESUME' }, 'running', ['transcript_update', 'job_state_changed:review>running']),
  ok('review', { type: 'CANCEL' }, 'canceled', ['job_state_changed:review>canceled']),
  ignored('review', { type: 'APPROVAL_DECIDED', approvalId: 'a1', resolution: 'approved' }),
  ignored('review', { type: 'AGENT.TURN_COMPLETED' }),
  ok('review', { type: 'DIFF.UPDATED', stats: { files: 1, additions: 2, deletions: 0 }, files: [] }, 'review', ['diff_update']),
  ok('running', { type: 'DIFF.UPDATED', stats: { files: 1, additions: 2, deletions: 0 }, files: [] }, 'running', ['diff_update']),
  ok('running', { type: 'RECOVERED', reason: 'worker restarted', kind: 'crash' }, 'running', ['transcript_update', 'job_restarted']),
  ok('waiting_for_approval', { type: 'RECOVERED', reason: 'worker restarted', kind: 'crash' }, 'running', [
    'transcript_update',
    'job_restarted',
    'approval_resolved',
    'approval_resolved',
    'job_state_changed:waiting_for_approval>running',
  ], ['a1', 'a2']),
  // Held across the restart: still waiting, nothing withdrawn but what is not held.
  ok('waiting_for_approval', { type: 'RECOVERED', reason: 'server stopped', kind: 'graceful_stop', heldApprovals: ['a1', 'a2'] }, 'waiting_for_approval', [
    'transcript_update',
    'job_restarted',
  ], ['a1', 'a2']),
  ok('waiting_for_approval', { type: 'RECOVERED', reason: 'server stopped', kind: 'lost', heldApprovals: ['a2'] }, 'waiting_for_approval', [
    'transcript_update',
    'job_restarted',
    'approval_resolved',
  ], ['a1', 'a2']),
  ok('review', { type: 'RECOVERED', reason: 'server restarted', kind: 'graceful_stop' }, 'review', ['transcript_update', 'job_restarted']),
  ignored('failed', { type: 'RECOVERED', reason: 'x', kind: 'crash' }),
  ok('waiting_for_approval', { type: 'RESTART_NOTED', reason: 'cpl restart', kind: 'restart' }, 'waiting_for_approval', ['transcript_update', 'job_restarted'], ['a1']),
  ok('running', { type: 'RESTART_NOTED', reason: 'cpl restart', kind: 'restart' }, 'running', ['transcript_update', 'job_restarted']),
  ignored('completed', { type: 'DIFF.UPDATED', stats: { files: 1, additions: 2, deletions: 0 }, files: [] }),
  ok('failed', { type: 'RESUME' }, 'preparing', ['job_state_changed:failed>preparing']),
  ok('canceled', { type: 'RESUME' }, 'preparing', ['job_state_changed:canceled>preparing']),
  ignored('failed', { type: 'RESOLVE', resolution: 'merged' }),
  ignored('failed', { type: 'FOLLOW_UP', content: 'x' }),
  ignored('completed', { type: 'RESUME' }),
  ignored('completed', { type: 'CANCEL' }),
  ignored('completed', { type: 'RESOLVE', resolution: 'discarded' }),
  ignored('canceled', { type: 'CANCEL' }),
  // A vanished repository or worktree fails the job from any state that holds a worktree (approvals withdrawn).
  ok('running', { type: 'WORKSPACE_LOST', reason: 'REPO_MISSING: gone' }, 'failed', ['job_state_changed:running>failed']),
  ok('waiting_for_approval', { type: 'WORKSPACE_LOST', reason: 'REPO_MISSING: gone' }, 'failed', [
    'approval_resolved',
    'job_state_changed:waiting_for_approval>failed',
  ], ['a1']),
  ok('review', { type: 'WORKSPACE_LOST', reason: 'WORKTREE_MISSING: gone' }, 'failed', ['job_state_changed:review>failed']),
  ignored('queued', { type: 'WORKSPACE_LOST', reason: 'x' }),
  ignored('failed', { type: 'WORKSPACE_LOST', reason: 'x' }),
  ignored('completed', { type: 'WORKSPACE_LOST', reason: 'x' }),
  // A job that ended without landing may be discarded (and only discarded).
  ok('failed', { type: 'RESOLVE', resolution: 'discarded' }, 'completed', ['job_resolved', 'job_state_changed:failed>completed']),
  ok('canceled', { type: 'RESOLVE', resolution: 'discarded' }, 'completed', ['job_resolved', 'job_state_changed:canceled>completed']),
  ignored('failed', { type: 'RESOLVE', resolution: 'pr_created' }),
  ignored('canceled', { type: 'RESOLVE', resolution: 'merged' }),
];

describe('job statechart transition table', () => {
  for (const row of table) {
    const name = `${row.from}${row.pending ? `[${row.pending.join(',')}]` : ''} --${row.event.type}--> ${row.to}`;
    it(name, () => {
      const { next, emitted } = run(row.from, row.pending ?? [], row.event);
      assert.equal(jobStateOf(next), row.to);
      assert.deepEqual(emitted.map(label), row.emits);
    });
  }
});

describe('job statechart details', () => {
  it('a vanished workspace is the failure reason', () => {
    const { next, emitted } = run('review', [], { type: 'WORKSPACE_LOST', reason: 'WORKTREE_MISSING: the worktree /w was deleted' });
    assert.equal(next.context.failureReason, 'WORKTREE_MISSING: the worktree /w was deleted');
    assert.deepEqual(emitted[0], { type: 'job_state_changed', from: 'review', to: 'failed', reason: 'WORKTREE_MISSING: the worktree /w was deleted' });
  });

  it('a state change carries the reason of the event that caused it', () => {
    const { emitted } = run('running', [], { type: 'AGENT.TURN_FAILED', reason: 'CLI exited with code 3' });
    assert.deepEqual(emitted[0], { type: 'job_state_changed', from: 'running', to: 'failed', reason: 'CLI exited with code 3' });
  });

  it('records the failure reason and clears it on resume', () => {
    const { next } = run('running', [], { type: 'AGENT.TURN_FAILED', reason: 'boom' });
    assert.equal(next.context.failureReason, 'boom');
    const [resumed] = transition(jobMachine, next, { type: 'RESUME' });
    assert.equal(resumed.context.failureReason, undefined);
  });

  it('forwards the rejection note with the approval_resolved event', () => {
    const { emitted } = run('waiting_for_approval', ['a1'], { type: 'APPROVAL_DECIDED', approvalId: 'a1', resolution: 'rejected', note: 'use a branch' });
    assert.deepEqual(emitted[0], { type: 'approval_resolved', approvalId: 'a1', resolution: 'rejected', note: 'use a branch' });
  });

  it('a second answer to the same approval changes nothing', () => {
    const first = run('waiting_for_approval', ['a1', 'a2'], { type: 'APPROVAL_DECIDED', approvalId: 'a1', resolution: 'approved' });
    assert.deepEqual(first.next.context.pendingApprovals, ['a2']);
    const [again, actions] = transition(jobMachine, first.next, { type: 'APPROVAL_DECIDED', approvalId: 'a1', resolution: 'rejected' });
    assert.equal(jobStateOf(again), 'waiting_for_approval');
    assert.equal(emittedOf(actions).length, 0);
  });

  it('held approvals stay pending across a restart, and answering the last one resumes running', () => {
    const { next, emitted } = run('waiting_for_approval', ['a1', 'a2'], { type: 'RECOVERED', reason: 'stopped', kind: 'graceful_stop', heldApprovals: ['a2', 'a3'] });
    assert.deepEqual(next.context.pendingApprovals, ['a2', 'a3'], 'what is held, including one only the store knew');
    assert.deepEqual(emitted[1], { type: 'job_restarted', kind: 'graceful_stop', reason: 'stopped', heldApprovals: ['a2', 'a3'] });
    assert.deepEqual(emitted[2], { type: 'approval_resolved', approvalId: 'a1', resolution: 'rejected', note: 'withdrawn: the agent that asked is gone' });
    const [one] = transition(jobMachine, next, { type: 'APPROVAL_DECIDED', approvalId: 'a2', resolution: 'approved' });
    assert.equal(jobStateOf(one), 'waiting_for_approval');
    const [two, actions] = transition(jobMachine, one, { type: 'APPROVAL_DECIDED', approvalId: 'a3', resolution: 'rejected', note: 'no' });
    assert.equal(jobStateOf(two), 'running');
    assert.deepEqual(emittedOf(actions).map(label), ['approval_resolved', 'job_state_changed:waiting_for_approval>running']);
  });

  it('follow-up text is the operator entry', () => {
    const { emitted } = run('review', [], { type: 'FOLLOW_UP', content: 'add tests' });
    assert.deepEqual(emitted[0], { type: 'transcript_update', entry: { role: 'operator', text: 'add tests' } });
  });

  it('remembers the agent session id', () => {
    const { next } = run('running', [], { type: 'AGENT.SESSION', agentSessionId: 'sess-9', model: 'm' });
    assert.equal(next.context.agentSessionId, 'sess-9');
  });
});

describe('snapshotAt (supervisor-side transitions for jobs without a worker)', () => {
  it('resolves a queued job and prepares it', () => {
    const [next] = transition(jobMachine, snapshotAt('queued', { jobId: 'j', pendingApprovals: [] }), { type: 'PREPARE' });
    assert.equal(jobStateOf(next), 'preparing');
  });
  it('resolves a review job and completes it', () => {
    const [next] = transition(jobMachine, snapshotAt('review', { jobId: 'j', pendingApprovals: [] }), { type: 'RESOLVE', resolution: 'discarded' });
    assert.equal(jobStateOf(next), 'completed');
  });
});

describe('superviseTransition (a job without a worker)', () => {
  it('a job failed or canceled while waiting for approval withdraws its open approvals: none is left pending', async () => {
    const { superviseTransition } = await import('../../supervisor/jobs/job-commands.ts');
    const job = { id: 'j1', state: 'waiting_for_approval' as const, lastSeq: 7, pendingApprovals: ['a1', 'a2'] };
    for (const event of [{ type: 'WORKER_LOST', reason: 'gave up' }, { type: 'CANCEL' }] as const) {
      const r = superviseTransition(job, event, '2026-12-02T00:00:00.000Z');
      assert.ok(r);
      const resolved = r.events.filter((e) => e.event.type === 'approval_resolved').map((e) => e.event);
      assert.deepEqual(resolved.map((e) => (e.type === 'approval_resolved' ? [e.approvalId, e.resolution] : [])), [['a1', 'rejected'], ['a2', 'rejected']], event.type);
      assert.deepEqual(r.events.map((e) => e.seq), r.events.map((_, i) => 8 + i), 'numbered after the last stored seq');
    }
  });
});
