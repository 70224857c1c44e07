/**
 * The UI's view of the wire: the types come from api/contract.ts (the only
 * server file the UI may import, and only its types); what is here is UI-side
 * (the SSE frame envelope, the event names to listen for, exhaustiveness).
 */
import type { DomainEvent } from '../../api/contract.ts';

export type { AgentInfo, AgentModel as ModelInfo, DiffFile, DiffHunk, DiffLine, DiffResult as JobDiff, LogLine, ResolveAction, ResolveResult } from '../../api/contract.ts';

/** One SSE frame as the UI sees it: the domain event plus its envelope. */
export type WireEvent = DomainEvent & { jobId: string; ts: string; seq: number; id: number };

/**
 * Every event type the UI listens for (an EventSource only delivers the named events it
 * listens to). A record over the union, so a new event type that is not added here fails
 * the type check instead of never reaching the page.
 */
const LISTENED: Record<DomainEvent['type'], true> = {
  job_created: true,
  job_state_changed: true,
  transcript_update: true,
  approval_requested: true,
  approval_resolved: true,
  log_line: true,
  diff_update: true,
  telemetry: true,
  job_resolved: true,
  session_started: true,
  containment_alarm: true,
  job_restarted: true,
};
export const EVENT_TYPES = Object.keys(LISTENED) as readonly DomainEvent['type'][];

export function assertNever(x: never): never {
  throw new Error(`unexpected ${JSON.stringify(x)}`);
}
