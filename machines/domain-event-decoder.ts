import {
  DecodeError,
  array,
  bool,
  int,
  json,
  literal,
  num,
  object,
  optional,
  record,
  str,
  type Decoder,
} from './decode.ts';
import { RESTART_KINDS, type DomainEvent, type DomainEventType, type TranscriptEntry } from './domain-events.ts';
import { AGENT_IDS, JOB_STATES, RESOLUTIONS } from './job-spec.ts';

const state = literal(...JOB_STATES);

const transcriptEntry: Decoder<TranscriptEntry> = object({
  seq: int({ min: 1 }),
  role: literal('agent', 'agent_delta', 'reasoning', 'operator', 'tool_call', 'tool_result', 'system'),
  text: optional(str()),
  toolName: optional(str()),
  toolInput: json,
  toolOutput: optional(str()),
  toolSuccess: optional(bool),
  toolCallId: optional(str()),
  durationMs: optional(num),
});

export const approvalRequestDecoder = object({
  id: str({ min: 1 }),
  kind: literal('shell', 'write', 'read', 'url', 'mcp', 'other'),
  summary: str(),
  detail: record,
  requestedAt: str({ min: 1 }),
  explicit: bool,
  toolName: optional(str()),
});

const diffFile = object({
  path: str(),
  status: literal('added', 'modified', 'deleted', 'renamed'),
  additions: int({ min: 0 }),
  deletions: int({ min: 0 }),
});

export const containmentChange = object({
  ref: str({ min: 1 }),
  change: literal('created', 'moved', 'deleted'),
  before: optional(str()),
  after: optional(str()),
  undone: bool,
  reason: optional(str()),
});

export const containmentAlarm = object({ message: str(), changes: array(containmentChange), omitted: optional(int({ min: 1 })) });

const stats = object({ files: int({ min: 0 }), additions: int({ min: 0 }), deletions: int({ min: 0 }) });

/** One decoder per event type; a `Record` over the union keeps the table exhaustive. */
const decoders: { [K in DomainEventType]: Decoder<Omit<Extract<DomainEvent, { type: K }>, 'type'>> } = {
  job_state_changed: object({ from: state, to: state, reason: optional(str()) }),
  transcript_update: object({ entry: transcriptEntry }),
  approval_requested: object({ approval: approvalRequestDecoder }),
  approval_resolved: object({
    approvalId: str({ min: 1 }),
    resolution: literal('approved', 'rejected'),
    note: optional(str()),
  }),
  log_line: object({ level: literal('debug', 'info', 'warn', 'error'), message: str() }),
  diff_update: object({ stats, files: array(diffFile) }),
  telemetry: object({
    inputTokens: int({ min: 0 }),
    outputTokens: int({ min: 0 }),
    cacheReadTokens: optional(int({ min: 0 })),
    costUsd: optional(num),
    model: optional(str()),
    turns: optional(int({ min: 0 })),
  }),
  job_resolved: object({
    resolution: literal(...RESOLUTIONS),
    prUrl: optional(str()),
    conflictFiles: optional(array(str())),
  }),
  session_started: object({ agentSessionId: str({ min: 1 }), model: optional(str()) }),
  job_created: object({ title: str(), agent: literal(...AGENT_IDS), repoId: str({ min: 1 }) }),
  containment_alarm: containmentAlarm,
  job_restarted: object({ kind: literal(...RESTART_KINDS), reason: str(), heldApprovals: optional(array(str({ min: 1 }))) }),
};

export const domainEventDecoder: Decoder<DomainEvent> = (v, f) => {
  const r = record(v, f);
  const type = r['type'];
  if (typeof type !== 'string' || !Object.hasOwn(decoders, type))
    throw new DecodeError(f ? `${f}.type` : 'type', 'a known event type');
  const body = decoders[type as DomainEventType](r, f);
  return { type, ...body } as DomainEvent;
};
