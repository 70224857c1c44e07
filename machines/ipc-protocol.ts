import { DecodeError, array, bool, int, literal, object, optional, record, str, type Decoder } from './decode.ts';
import { approvalRequestDecoder, containmentAlarm, domainEventDecoder } from './domain-event-decoder.ts';
import { RESTART_KINDS, type ApprovalRequest, type ContainmentAlarm, type DiffFileStat, type DiffStats, type RestartKind, type SequencedEvent } from './domain-events.ts';
import { RESOLUTIONS, jobSpecDecoder, type JobSpec, type Resolution } from './job-spec.ts';

/**
 * The supervisor <-> job worker protocol. Transport-free: these are the
 * messages; `ipc-framing` carries them over a Unix socket as JSON lines.
 * Bump the version on any incompatible change: the handshake refuses a
 * mismatch instead of misreading messages.
 */
export const PROTOCOL_VERSION = 1;

export type SupervisorMessage =
  | { type: 'hello'; protocolVersion: number; lastPersistedSeq: number }
  /**
   * `snapshot`: the persisted statechart to continue from (a restarted worker);
   * `recovery`: why (shown in the transcript); `firstMessage`: what the agent
   * is told first instead of the prompt; `idle`: resume the session without a turn.
   */
  | {
      type: 'start';
      spec: JobSpec;
      nextSeq: number;
      resumeSessionId?: string;
      snapshot?: Record<string, unknown>;
      recovery?: string;
      firstMessage?: string;
      idle?: boolean;
      /** The first message of a fresh session when the agent's own one cannot be resumed. */
      fallbackPrompt?: string;
      /** With `recovery`: what kind of restart this is (recorded as `job_restarted`). */
      restartKind?: RestartKind;
      /**
       * Approvals the interrupted turn was waiting for that stay pending: the worker opens the
       * agent session idle and, once the user has answered them all, tells the agent the answers
       * (an approved call is allowed once when the agent repeats it). Requires `idle`.
       */
      heldApprovals?: ApprovalRequest[];
    }
  | { type: 'ack'; seq: number }
  | { type: 'approval_decision'; approvalId: string; resolution: 'approved' | 'rejected'; note?: string }
  | { type: 'follow_up'; content: string }
  | { type: 'cancel'; reason?: string }
  | { type: 'resolve'; resolution: Resolution; prUrl?: string }
  | { type: 'resume'; instruction?: string }
  | { type: 'shutdown'; reason: string }
  /** The server restarted and re-attached to this worker: the job records it. */
  | { type: 'restarted'; kind: RestartKind; reason: string }
  /** The job's repository or worktree vanished: the job fails with `reason`. */
  | { type: 'workspace_lost'; reason: string }
  | { type: 'publish_diff'; stats: DiffStats; files: DiffFileStat[] }
  /** The ref guard's alarm, numbered by the worker like every event of its job. */
  | { type: 'publish_alarm'; alarm: ContainmentAlarm };

export type WorkerMessage =
  /** `pendingApprovals`: what the worker still waits for, so answers given while it was away can be re-sent. */
  | { type: 'hello_ack'; protocolVersion: number; jobId: string; pid: number; started: boolean; pendingApprovals: string[] }
  | { type: 'events'; events: SequencedEvent[] }
  | { type: 'snapshot'; seq: number; snapshot: Record<string, unknown> }
  | { type: 'command_rejected'; command: SupervisorMessage['type']; code: string; message: string }
  | { type: 'protocol_error'; message: string };

const seq = int({ min: 0 });
const supervisorTypes = ['hello', 'start', 'ack', 'approval_decision', 'follow_up', 'cancel', 'resolve', 'resume', 'shutdown', 'restarted', 'workspace_lost', 'publish_diff', 'publish_alarm'] as const;

const supervisorDecoders: { [K in SupervisorMessage['type']]: Decoder<Omit<Extract<SupervisorMessage, { type: K }>, 'type'>> } = {
  hello: object({ protocolVersion: int(), lastPersistedSeq: seq }),
  start: object({
    spec: jobSpecDecoder,
    nextSeq: int({ min: 1 }),
    resumeSessionId: optional(str({ min: 1 })),
    snapshot: optional(record),
    recovery: optional(str()),
    firstMessage: optional(str({ min: 1 })),
    idle: optional(bool),
    fallbackPrompt: optional(str({ min: 1 })),
    restartKind: optional(literal(...RESTART_KINDS)),
    heldApprovals: optional(array(approvalRequestDecoder)),
  }),
  ack: object({ seq }),
  approval_decision: object({
    approvalId: str({ min: 1 }),
    resolution: literal('approved', 'rejected'),
    note: optional(str({ max: 10_000 })),
  }),
  follow_up: object({ content: str({ min: 1 }) }),
  cancel: object({ reason: optional(str()) }),
  resolve: object({ resolution: literal(...RESOLUTIONS), prUrl: optional(str()) }),
  shutdown: object({ reason: str() }),
  restarted: object({ kind: literal(...RESTART_KINDS), reason: str() }),
  workspace_lost: object({ reason: str({ min: 1, max: 10_000 }) }),
  resume: object({ instruction: optional(str({ max: 100_000 })) }),
  publish_diff: object({
    stats: object({ files: int({ min: 0 }), additions: int({ min: 0 }), deletions: int({ min: 0 }) }),
    files: array(object({ path: str(), status: literal('added', 'modified', 'deleted', 'renamed'), additions: int({ min: 0 }), deletions: int({ min: 0 }) })),
  }),
  publish_alarm: object({ alarm: containmentAlarm }),
};

const sequencedEvent: Decoder<SequencedEvent> = object({
  seq: int({ min: 1 }),
  ts: str({ min: 1 }),
  event: domainEventDecoder,
});

const workerDecoders: { [K in WorkerMessage['type']]: Decoder<Omit<Extract<WorkerMessage, { type: K }>, 'type'>> } = {
  hello_ack: object({ protocolVersion: int(), jobId: str({ min: 1 }), pid: int({ min: 1 }), started: bool, pendingApprovals: array(str()) }),
  events: object({ events: array(sequencedEvent) }),
  snapshot: object({ seq, snapshot: record }),
  command_rejected: object({ command: literal(...supervisorTypes), code: str(), message: str() }),
  protocol_error: object({ message: str() }),
};

function tagged<M extends { type: string }>(decoders: Record<string, Decoder<unknown>>): Decoder<M> {
  return (v, f) => {
    const r = record(v, f);
    const type = r['type'];
    if (typeof type !== 'string' || !Object.hasOwn(decoders, type)) throw new DecodeError('type', 'a known message type');
    return { type, ...(decoders[type]!(r, f) as object) } as M;
  };
}

export const supervisorMessageDecoder: Decoder<SupervisorMessage> = tagged<SupervisorMessage>(supervisorDecoders);
export const workerMessageDecoder: Decoder<WorkerMessage> = tagged<WorkerMessage>(workerDecoders);
