import { randomUUID } from 'node:crypto';
import { createActor, type Actor, type Snapshot } from 'xstate';
import { assertNever } from '../machines/decode.ts';
import type { SupervisorMessage, WorkerMessage } from '../machines/ipc-protocol.ts';
import type { DraftEvent } from '../machines/domain-events.ts';
import type { JobMachineEvent } from '../machines/job-events.ts';
import { isTerminal, type JobSpec } from '../machines/job-spec.ts';
import { jobStateOf } from '../machines/job-state.ts';
import { jobMachine } from '../machines/job.machine.ts';
import { createAgentActor } from './agent-actor.ts';
import type { AgentAdapter } from './agents/adapter.ts';
import { join } from 'node:path';
import { executablePathFor, userConfigFor } from './agents/registry.ts';
import { Outbox } from './outbox.ts';
import { agentSandboxFor } from './sandbox/job-sandbox.ts';
import { agentEnvForJob } from './agent-env-for-job.ts';
import { EventRedactor } from './event-redaction.ts';
import type { Redactor } from '../machines/redact.ts';
import { toolWatchdogMsFromEnv, watchdogMsFromEnv } from './watchdog.ts';

type StartMessage = Extract<SupervisorMessage, { type: 'start' }>;
export type Command = Exclude<SupervisorMessage, { type: 'hello' | 'ack' | 'start' }>;

export interface RunnerIo {
  /** Hands numbered events to the channel. */
  flush(): void;
  send(message: WorkerMessage): void;
  /** The job reached a state where this worker has nothing more to do. */
  finished(): void;
  /** Stop the agent and exit without changing the job's state (server shutdown, or a job idle in review). */
  checkpoint(reason: string): void;
  /** Where unacknowledged events spill while no supervisor is attached. */
  spillFile: string;
  /** The job's own data directory (it outlives this worker). */
  jobDir: string;
  /** Applied to every event and the persisted snapshot before they leave the worker (machines/redact.ts). */
  redactor: Redactor;
}

/** One job's statechart with its agent, inside the worker process. */
export class JobRunner {
  readonly outbox: Outbox;
  private readonly actor: Actor<typeof jobMachine>;
  private readonly agent: ReturnType<typeof createAgentActor>;
  private lastState: string;
  private readonly recovery: Extract<JobMachineEvent, { type: 'RECOVERED' }> | undefined;
  /** Every event passes here before the outbox: secrets never reach the supervisor's store. */
  private readonly redaction: EventRedactor;

  constructor(start: StartMessage, adapter: AgentAdapter, private readonly io: RunnerIo) {
    const spec: JobSpec = start.spec;
    this.outbox = new Outbox(start.nextSeq, { spillFile: io.spillFile });
    const agentHome = join(io.jobDir, 'agent-home');
    const sandbox = agentSandboxFor(spec, { env: process.env, jobDir: io.jobDir, agentHome, userConfig: userConfigFor(spec.agent) });
    this.redaction = new EventRedactor(io.redactor);
    this.agent = createAgentActor({
      adapter,
      spec,
      env: agentEnvForJob(spec.agent, process.env),
      executablePath: executablePathFor(spec.agent),
      userConfig: userConfigFor(spec.agent),
      // The agent's own config and sessions, when the user's are not loaded: kept with the job so resume finds them.
      agentHome,
      ...(sandbox ? { sandbox } : { unsandboxed: true }),
      ...(start.idle ? { firstMessage: null } : start.firstMessage ? { firstMessage: start.firstMessage } : {}),
      ...(start.fallbackPrompt ? { fallbackPrompt: start.fallbackPrompt } : {}),
      ...(start.heldApprovals?.length ? { heldApprovals: start.heldApprovals, asStored: (v) => io.redactor.value(v) } : {}),
      newId: randomUUID,
      now: () => new Date().toISOString(),
      watchdogMs: watchdogMsFromEnv(process.env),
      toolWatchdogMs: toolWatchdogMsFromEnv(process.env),
      emitDelta: (draft) => this.publish(draft),
    });
    const machine = jobMachine.provide({ actors: { agent: this.agent.logic } });
    const context = { jobId: spec.jobId, pendingApprovals: [], ...(start.resumeSessionId ? { agentSessionId: start.resumeSessionId } : {}) };
    // A restarted worker continues from the persisted statechart (its agent actor resumes the session).
    // The session id may have arrived after the snapshot was taken: the supervisor's copy wins.
    const restored = start.snapshot && start.resumeSessionId ? withSessionId(start.snapshot, start.resumeSessionId) : start.snapshot;
    const snapshot = restored ? (restored as unknown as Snapshot<unknown>) : machine.resolveState({ value: 'preparing', context });
    this.actor = createActor(machine, { snapshot, input: { jobId: spec.jobId } });
    const held = (start.heldApprovals ?? []).map((a) => a.id);
    this.recovery = start.snapshot
      ? { type: 'RECOVERED', reason: start.recovery ?? 'The job worker restarted; resuming the agent session.', kind: start.restartKind ?? 'crash', ...(held.length ? { heldApprovals: held } : {}) }
      : undefined;
    this.lastState = jobStateOf(this.actor.getSnapshot());
    this.actor.on('*', (draft) => this.publish(draft));
    this.actor.subscribe((snap) => this.onSnapshot(snap));
  }

  start(): void {
    this.actor.start();
    this.actor.send(this.recovery ?? { type: 'START' });
  }

  pendingApprovals(): string[] {
    return [...this.actor.getSnapshot().context.pendingApprovals];
  }

  /** Applies a supervisor command; one the machine cannot take is refused, never half-applied. */
  command(msg: Command): void {
    switch (msg.type) {
      case 'approval_decision':
        return this.send(msg.type, msg.note === undefined
          ? { type: 'APPROVAL_DECIDED', approvalId: msg.approvalId, resolution: msg.resolution }
          : { type: 'APPROVAL_DECIDED', approvalId: msg.approvalId, resolution: msg.resolution, note: msg.note });
      case 'follow_up':
        return this.send(msg.type, { type: 'FOLLOW_UP', content: msg.content });
      case 'cancel':
        return this.send(msg.type, msg.reason === undefined ? { type: 'CANCEL' } : { type: 'CANCEL', reason: msg.reason });
      case 'resolve':
        return this.send(msg.type, msg.prUrl === undefined ? { type: 'RESOLVE', resolution: msg.resolution } : { type: 'RESOLVE', resolution: msg.resolution, prUrl: msg.prUrl });
      case 'resume':
        return this.send(msg.type, msg.instruction === undefined ? { type: 'RESUME' } : { type: 'RESUME', instruction: msg.instruction });
      case 'publish_alarm':
        return this.send(msg.type, { type: 'GUARD.ALARM', alarm: msg.alarm });
      case 'publish_diff':
        return this.send(msg.type, { type: 'DIFF.UPDATED', stats: msg.stats, files: msg.files });
      case 'restarted':
        return this.send(msg.type, { type: 'RESTART_NOTED', kind: msg.kind, reason: msg.reason });
      case 'workspace_lost':
        return this.send(msg.type, { type: 'WORKSPACE_LOST', reason: msg.reason });
      case 'shutdown':
        // A checkpoint, not a cancel: the job keeps its state and the next worker resumes it
        // (after a server restart, or the next message to a job that idled in review).
        return this.io.checkpoint(msg.reason);
      default:
        return assertNever(msg, 'command');
    }
  }

  /** Stops the statechart (and so the agent session) without a transition. */
  stop(): void {
    this.actor.stop();
  }

  /** Resolves when the agent session has closed (after the job left its active states). */
  agentClosed(): Promise<void> {
    return this.agent.closed();
  }

  /** Redacts, numbers and hands an event to the channel (from the machine, or a streamed delta straight from the agent). */
  private publish(draft: DraftEvent): void {
    const events = this.redaction.redact(draft);
    if (events.length === 0) return;
    for (const e of events) this.outbox.add(e);
    this.io.flush();
  }

  private send(command: Command['type'], event: JobMachineEvent): void {
    const snap = this.actor.getSnapshot();
    if (!snap.can(event)) {
      this.io.send({ type: 'command_rejected', command, code: 'INVALID_STATE', message: `cannot ${command} while the job is ${jobStateOf(snap)}` });
      return;
    }
    this.actor.send(event);
  }

  private onSnapshot(snap: ReturnType<Actor<typeof jobMachine>['getSnapshot']>): void {
    const state = jobStateOf(snap);
    if (state === this.lastState) return;
    this.lastState = state;
    // The persisted snapshot lets a replacement worker continue where this one stopped.
    const persisted = this.actor.getPersistedSnapshot() as unknown as Record<string, unknown>;
    // The snapshot is stored too (a failure reason may quote the agent's stderr).
    this.io.send({ type: 'snapshot', seq: this.outbox.peekNextSeq - 1, snapshot: this.io.redactor.value(persisted) });
    if (isTerminal(state)) this.io.finished();
  }
}

function withSessionId(snapshot: Record<string, unknown>, agentSessionId: string): Record<string, unknown> {
  const rec = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const children = rec(snapshot['children']);
  const agent = rec(children['agent']);
  const agentSnap = rec(agent['snapshot']);
  // XState restores an invoked child with the input persisted in its snapshot, not one recomputed from context.
  const patchedChildren = agent['snapshot']
    ? { ...children, agent: { ...agent, snapshot: { ...agentSnap, input: { ...rec(agentSnap['input']), agentSessionId } } } }
    : children;
  return { ...snapshot, context: { ...rec(snapshot['context']), agentSessionId }, children: patchedChildren };
}
