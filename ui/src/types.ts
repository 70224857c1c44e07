/**
 * Wire types the UI needs that api/contract.ts does not declare yet (endpoints
 * being built elsewhere). Shapes follow CONTRACT.md.
 */
import type { AgentId, DomainEvent, Resolution } from '../../api/contract.ts';

export interface AgentInfo {
  id: AgentId;
  name: string;
  available: boolean;
  authenticated: boolean | null;
  version?: string;
  hint?: string;
}

export interface ModelInfo {
  id: string;
  name: string;
}

export interface LogLine {
  seq: number;
  ts: string;
  level: string;
  message: string;
}

export interface DiffLine {
  type: 'context' | 'add' | 'del';
  text: string;
  oldNo?: number;
  newNo?: number;
}

export interface DiffHunk {
  header: string;
  lines: DiffLine[];
}

export interface DiffFile {
  path: string;
  oldPath?: string;
  status: 'added' | 'modified' | 'deleted' | 'renamed';
  additions: number;
  deletions: number;
  binary: boolean;
  hunks: DiffHunk[];
  truncated?: boolean;
}

export interface JobDiff {
  files: DiffFile[];
  stats: { files: number; additions: number; deletions: number };
  truncated?: boolean;
  nextOffset?: number;
}

export type ResolveAction = 'merge' | 'create_pr' | 'discard';

export interface ResolveResult {
  resolution: Resolution;
  prUrl?: string;
  conflictFiles?: string[];
  message?: string;
}

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
