import { assign, emit, enqueueActions, fromCallback, sendTo, setup } from 'xstate';
import type { DraftEvent } from './domain-events.ts';
import type { AgentCommand, JobMachineEvent } from './job-events.ts';
import type { JobState } from './job-spec.ts';

export interface JobContext {
  jobId: string;
  /** Approvals asked and not yet answered, oldest first. */
  pendingApprovals: string[];
  failureReason?: string;
  agentSessionId?: string;
}

export interface AgentActorInput {
  jobId: string;
  agentSessionId?: string;
}

const reasonOf = (e: JobMachineEvent): string | undefined =>
  'reason' in e && typeof e.reason === 'string' ? e.reason : undefined;

const DEFAULT_RESUME = 'Continue where you left off.';
const resumeText = (e: JobMachineEvent): string | undefined =>
  e.type === 'RESUME' ? (e.instruction?.trim() ? e.instruction : DEFAULT_RESUME) : undefined;

/**
 * The job statechart. Pure: the agent runs as the `agent` callback actor,
 * which the worker provides with `.provide()`; domain events leave through
 * `emit` so the worker's outbox (and tests) see them by name.
 */
export const jobMachine = setup({
  types: {
    context: {} as JobContext,
    events: {} as JobMachineEvent,
    input: {} as { jobId: string; agentSessionId?: string },
    emitted: {} as DraftEvent,
  },
  actors: {
    // Replaced by the worker; the default does nothing so the machine stays pure.
    agent: fromCallback<AgentCommand, AgentActorInput, JobMachineEvent>(() => () => undefined),
  },
  guards: {
    isDiscard: ({ event }) => event.type === 'RESOLVE' && event.resolution === 'discarded',
    isPending: ({ context, event }) => event.type === 'APPROVAL_DECIDED' || event.type === 'AGENT.APPROVAL_WITHDRAWN'
      ? context.pendingApprovals.includes(event.approvalId)
      : false,
    holdsApprovals: ({ event }) => event.type === 'RECOVERED' && (event.heldApprovals?.length ?? 0) > 0,
    isLastPending: ({ context, event }) =>
      (event.type === 'APPROVAL_DECIDED' || event.type === 'AGENT.APPROVAL_WITHDRAWN') &&
      context.pendingApprovals.length === 1 &&
      context.pendingApprovals[0] === event.approvalId,
  },
  actions: {
    stateChanged: emit(({ event }, params: { from: JobState; to: JobState; reason?: string }): DraftEvent => {
      const reason = params.reason ?? reasonOf(event);
      const base = { type: 'job_state_changed', from: params.from, to: params.to } as const;
      return reason === undefined ? base : { ...base, reason };
    }),
    emitOperatorMessage: emit(({ event }): DraftEvent => ({
      type: 'transcript_update',
      entry: { role: 'operator', text: event.type === 'FOLLOW_UP' ? event.content : (resumeText(event) ?? '') },
    })),
    forwardToAgent: sendTo('agent', ({ event }): AgentCommand => {
      if (event.type === 'FOLLOW_UP') return { type: 'SEND', content: event.content };
      if (event.type === 'RESUME') return { type: 'SEND', content: resumeText(event) ?? '' };
      if (event.type === 'APPROVAL_DECIDED') {
        const { approvalId, resolution, note } = event;
        return note === undefined ? { type: 'DECISION', approvalId, resolution } : { type: 'DECISION', approvalId, resolution, note };
      }
      throw new Error(`cannot forward ${event.type} to the agent`);
    }),
    addApproval: assign({
      pendingApprovals: ({ context, event }) =>
        event.type === 'AGENT.APPROVAL_REQUESTED' ? [...context.pendingApprovals, event.approval.id] : context.pendingApprovals,
    }),
    removeApproval: assign({
      pendingApprovals: ({ context, event }) =>
        'approvalId' in event ? context.pendingApprovals.filter((id) => id !== event.approvalId) : context.pendingApprovals,
    }),
    emitApprovalRequested: emit(({ event }): DraftEvent => {
      if (event.type !== 'AGENT.APPROVAL_REQUESTED') throw new Error('unreachable');
      return { type: 'approval_requested', approval: event.approval };
    }),
    emitApprovalResolved: emit(({ event }): DraftEvent => {
      if (event.type === 'APPROVAL_DECIDED') {
        const base = { type: 'approval_resolved', approvalId: event.approvalId, resolution: event.resolution } as const;
        return event.note === undefined ? base : { ...base, note: event.note };
      }
      if (event.type === 'AGENT.APPROVAL_WITHDRAWN')
        return { type: 'approval_resolved', approvalId: event.approvalId, resolution: 'rejected', note: event.reason };
      throw new Error('unreachable');
    }),
    /** Leaving the active states retracts every open approval, so none dangles in the UI. */
    withdrawAllApprovals: enqueueActions(({ context, enqueue }) => {
      for (const approvalId of context.pendingApprovals)
        enqueue.emit({ type: 'approval_resolved', approvalId, resolution: 'rejected', note: 'withdrawn: the turn ended' });
      enqueue.assign({ pendingApprovals: [] });
    }),
    emitTranscript: emit(({ event }): DraftEvent => {
      if (event.type !== 'AGENT.TRANSCRIPT') throw new Error('unreachable');
      return { type: 'transcript_update', entry: event.entry };
    }),
    emitTelemetry: emit(({ event }): DraftEvent => {
      if (event.type !== 'AGENT.TELEMETRY') throw new Error('unreachable');
      return { type: 'telemetry', ...event.telemetry };
    }),
    emitLog: emit(({ event }): DraftEvent => {
      if (event.type !== 'AGENT.LOG') throw new Error('unreachable');
      return { type: 'log_line', level: event.level, message: event.message };
    }),
    recordSession: assign({
      agentSessionId: ({ context, event }) => (event.type === 'AGENT.SESSION' ? event.agentSessionId : context.agentSessionId),
    }),
    emitSession: emit(({ event }): DraftEvent => {
      if (event.type !== 'AGENT.SESSION') throw new Error('unreachable');
      return event.model === undefined
        ? { type: 'session_started', agentSessionId: event.agentSessionId }
        : { type: 'session_started', agentSessionId: event.agentSessionId, model: event.model };
    }),
    emitResolved: emit(({ event }): DraftEvent => {
      if (event.type !== 'RESOLVE') throw new Error('unreachable');
      return event.prUrl === undefined
        ? { type: 'job_resolved', resolution: event.resolution }
        : { type: 'job_resolved', resolution: event.resolution, prUrl: event.prUrl };
    }),
    emitSetupLog: emit(({ event }): DraftEvent => {
      if (event.type !== 'SETUP.LOG') throw new Error('unreachable');
      return { type: 'log_line', level: event.level, message: event.message };
    }),
    /** A restart is recorded twice: a line the transcript shows, and the structured `job_restarted` (its kind, the approvals held). */
    noteRestart: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'RECOVERED' && event.type !== 'RESTART_NOTED') throw new Error('unreachable');
      const held = event.type === 'RECOVERED' ? (event.heldApprovals ?? []) : [];
      enqueue.emit({ type: 'transcript_update', entry: { role: 'system', text: event.reason } });
      enqueue.emit(held.length ? { type: 'job_restarted', kind: event.kind, reason: event.reason, heldApprovals: held } : { type: 'job_restarted', kind: event.kind, reason: event.reason });
    }),
    /**
     * The agent that asked is gone, but the user can still answer: the held approvals stay pending
     * (a new agent session is told the answers); any other open one can never be answered and is withdrawn.
     */
    holdApprovals: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RECOVERED') throw new Error('unreachable');
      const held = event.heldApprovals ?? [];
      for (const approvalId of context.pendingApprovals)
        if (!held.includes(approvalId)) enqueue.emit({ type: 'approval_resolved', approvalId, resolution: 'rejected', note: 'withdrawn: the agent that asked is gone' });
      enqueue.assign({ pendingApprovals: [...held] });
    }),
    emitDiff: emit(({ event }): DraftEvent => {
      if (event.type !== 'DIFF.UPDATED') throw new Error('unreachable');
      return { type: 'diff_update', stats: event.stats, files: event.files };
    }),
    /** The alarm itself, and a system line in the transcript so it is read wherever the transcript is (share views, `cpl run`). */
    emitAlarm: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'GUARD.ALARM') throw new Error('unreachable');
      enqueue.emit({ type: 'containment_alarm', ...event.alarm });
      enqueue.emit({ type: 'transcript_update', entry: { role: 'system', text: `Containment alarm: ${event.alarm.message}` } });
    }),
    recordFailure: assign({ failureReason: ({ event }) => reasonOf(event) }),
    clearFailure: assign({ failureReason: () => undefined }),
  },
}).createMachine({
  id: 'job',
  initial: 'queued',
  context: ({ input }) => ({ jobId: input.jobId, pendingApprovals: [], agentSessionId: input.agentSessionId }),
  // The server came back to a worker that never stopped (RESTART_NOTED): recorded, nothing else changes.
  // The ref guard checks after a turn, which may have ended in review, failed or canceled: recorded in any of them.
  on: { RESTART_NOTED: { actions: 'noteRestart' }, 'GUARD.ALARM': { actions: 'emitAlarm' } },
  states: {
    queued: {
      on: {
        PREPARE: { target: 'preparing', actions: { type: 'stateChanged', params: { from: 'queued', to: 'preparing' } } },
        CANCEL: { target: 'canceled', actions: { type: 'stateChanged', params: { from: 'queued', to: 'canceled' } } },
      },
    },
    preparing: {
      on: {
        START: { target: 'active.running', actions: { type: 'stateChanged', params: { from: 'preparing', to: 'running' } } },
        'SETUP.LOG': { actions: 'emitSetupLog' },
        PREPARE_FAILED: { target: 'failed', actions: ['recordFailure', { type: 'stateChanged', params: { from: 'preparing', to: 'failed' } }] },
        CANCEL: { target: 'canceled', actions: { type: 'stateChanged', params: { from: 'preparing', to: 'canceled' } } },
        WORKER_LOST: { target: 'failed', actions: ['recordFailure', { type: 'stateChanged', params: { from: 'preparing', to: 'failed' } }] },
      },
    },
    active: {
      initial: 'running',
      invoke: {
        id: 'agent',
        src: 'agent',
        input: ({ context }) => ({ jobId: context.jobId, agentSessionId: context.agentSessionId }),
      },
      on: {
        'AGENT.TRANSCRIPT': { actions: 'emitTranscript' },
        'AGENT.TELEMETRY': { actions: 'emitTelemetry' },
        'AGENT.LOG': { actions: 'emitLog' },
        'AGENT.SESSION': { actions: ['recordSession', 'emitSession'] },
        'DIFF.UPDATED': { actions: 'emitDiff' },
      },
      states: {
        running: {
          on: {
            FOLLOW_UP: { actions: ['emitOperatorMessage', 'forwardToAgent'] },
            RECOVERED: { actions: 'noteRestart' },
            'AGENT.APPROVAL_REQUESTED': {
              target: 'waiting_for_approval',
              actions: ['addApproval', 'emitApprovalRequested', { type: 'stateChanged', params: { from: 'running', to: 'waiting_for_approval' } }],
            },
            'AGENT.TURN_COMPLETED': { target: 'review', actions: { type: 'stateChanged', params: { from: 'running', to: 'review' } } },
            'AGENT.TURN_FAILED': { target: '#job.failed', actions: ['recordFailure', { type: 'stateChanged', params: { from: 'running', to: 'failed' } }] },
            CANCEL: { target: '#job.canceled', actions: { type: 'stateChanged', params: { from: 'running', to: 'canceled' } } },
            WORKER_LOST: { target: '#job.failed', actions: ['recordFailure', { type: 'stateChanged', params: { from: 'running', to: 'failed' } }] },
            WORKSPACE_LOST: { target: '#job.failed', actions: ['recordFailure', { type: 'stateChanged', params: { from: 'running', to: 'failed' } }] },
          },
        },
        waiting_for_approval: {
          on: {
            FOLLOW_UP: { actions: ['emitOperatorMessage', 'forwardToAgent'] },
            RECOVERED: [
              // Approvals survive the restart: still waiting, now on an agent whose turn was interrupted.
              { guard: 'holdsApprovals', actions: ['noteRestart', 'holdApprovals'] },
              // Nothing to hold (no session to tell the answer to): the open approvals are withdrawn and the agent goes on.
              {
                target: 'running',
                actions: ['noteRestart', 'withdrawAllApprovals', { type: 'stateChanged', params: { from: 'waiting_for_approval', to: 'running' } }],
              },
            ],
            'AGENT.APPROVAL_REQUESTED': { actions: ['addApproval', 'emitApprovalRequested'] },
            APPROVAL_DECIDED: [
              {
                guard: 'isLastPending',
                target: 'running',
                actions: ['removeApproval', 'emitApprovalResolved', 'forwardToAgent', { type: 'stateChanged', params: { from: 'waiting_for_approval', to: 'running' } }],
              },
              { guard: 'isPending', actions: ['removeApproval', 'emitApprovalResolved', 'forwardToAgent'] },
            ],
            'AGENT.APPROVAL_WITHDRAWN': [
              {
                guard: 'isLastPending',
                target: 'running',
                actions: ['removeApproval', 'emitApprovalResolved', { type: 'stateChanged', params: { from: 'waiting_for_approval', to: 'running' } }],
              },
              { guard: 'isPending', actions: ['removeApproval', 'emitApprovalResolved'] },
            ],
            'AGENT.TURN_FAILED': {
              target: '#job.failed',
              actions: ['recordFailure', { type: 'stateChanged', params: { from: 'waiting_for_approval', to: 'failed' } }],
            },
            CANCEL: { target: '#job.canceled', actions: { type: 'stateChanged', params: { from: 'waiting_for_approval', to: 'canceled' } } },
            WORKER_LOST: { target: '#job.failed', actions: ['recordFailure', { type: 'stateChanged', params: { from: 'waiting_for_approval', to: 'failed' } }] },
            WORKSPACE_LOST: { target: '#job.failed', actions: ['recordFailure', { type: 'stateChanged', params: { from: 'waiting_for_approval', to: 'failed' } }] },
          },
        },
        review: {
          on: {
            FOLLOW_UP: {
              target: 'running',
              actions: [
                'emitOperatorMessage',
                'forwardToAgent',
                { type: 'stateChanged', params: { from: 'review', to: 'running' } },
              ],
            },
            RESUME: {
              target: 'running',
              actions: ['emitOperatorMessage', 'forwardToAgent', { type: 'stateChanged', params: { from: 'review', to: 'running' } }],
            },
            RECOVERED: { actions: 'noteRestart' },
            RESOLVE: { target: '#job.completed', actions: ['emitResolved', { type: 'stateChanged', params: { from: 'review', to: 'completed' } }] },
            CANCEL: { target: '#job.canceled', actions: { type: 'stateChanged', params: { from: 'review', to: 'canceled' } } },
            WORKSPACE_LOST: { target: '#job.failed', actions: ['recordFailure', { type: 'stateChanged', params: { from: 'review', to: 'failed' } }] },
          },
        },
      },
      exit: 'withdrawAllApprovals',
    },
    completed: { type: 'final' },
    // A job that ended without landing may still be discarded: its worktree and branch are removed.
    failed: {
      on: {
        RESUME: { target: 'preparing', actions: ['clearFailure', { type: 'stateChanged', params: { from: 'failed', to: 'preparing', reason: 'resumed' } }] },
        RESOLVE: { guard: 'isDiscard', target: 'completed', actions: ['emitResolved', { type: 'stateChanged', params: { from: 'failed', to: 'completed' } }] },
      },
    },
    canceled: {
      on: {
        RESUME: { target: 'preparing', actions: { type: 'stateChanged', params: { from: 'canceled', to: 'preparing', reason: 'resumed' } } },
        RESOLVE: { guard: 'isDiscard', target: 'completed', actions: ['emitResolved', { type: 'stateChanged', params: { from: 'canceled', to: 'completed' } }] },
      },
    },
  },
});
