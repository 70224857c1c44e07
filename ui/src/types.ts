/**
 * The UI's view of the wire: the types come from api/contract.ts (the only
 * server file the UI may import, and only its types); what is here is UI-side
 * (the SSE frame envelope, the event names to listen for, exhaustiveness).
 */
import type { DomainEvent } from '../../api/contract.ts';

export type { AgentInfo, AgentModel as ModelInfo, DiffFile, DiffHunk, DiffLine, DiffResult as JobDiff, LogLine, ResolveAction, ResolveResult } from '../../api/contract.ts';

/** One SSE frame as the UI sees it: the domain event plus its envelope. */
export type WireEvent = DomainEvent & { jobId: string; ts: string; seq: number; id: number };

export const EVENT_TYPES: readonly DomainEvent['type'][] = [
  'job_created',
  'job_state_changed',
  'transcript_update',
  'approval_requested',
  'approval_resolved',
  'log_line',
  'diff_update',
  'telemetry',
  'job_resolved',
  'session_started',
];

export function assertNever(x: never): never {
  throw new Error(`unexpected ${JSON.stringify(x)}`);
}
