import { int, literal, object, optional, str, type Decoder } from './decode.ts';

export const JOB_STATES = [
  'queued',
  'preparing',
  'running',
  'waiting_for_approval',
  'review',
  'completed',
  'failed',
  'canceled',
] as const;
export type JobState = (typeof JOB_STATES)[number];
export const TERMINAL_STATES: readonly JobState[] = ['completed', 'failed', 'canceled'];
export const isTerminal = (s: JobState): boolean => TERMINAL_STATES.includes(s);

export const AGENT_IDS = ['claude', 'copilot'] as const;
export type AgentId = (typeof AGENT_IDS)[number];
export const isAgentId = (v: string): v is AgentId => (AGENT_IDS as readonly string[]).includes(v);

export const PERMISSION_MODES = ['full_auto', 'review_and_approve', 'observe_only'] as const;
export type PermissionMode = (typeof PERMISSION_MODES)[number];

export const RESOLUTIONS = ['merged', 'pr_created', 'discarded'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/** Everything a worker needs to run one job. Sent by the supervisor at start. */
export interface JobSpec {
  jobId: string;
  repoPath: string;
  worktreePath: string;
  branch: string;
  baseRef: string;
  agent: AgentId;
  model?: string;
  prompt: string;
  permissionMode: PermissionMode;
}

export const jobSpecDecoder: Decoder<JobSpec> = object({
  jobId: str({ min: 1 }),
  repoPath: str({ min: 1 }),
  worktreePath: str({ min: 1 }),
  branch: str({ min: 1 }),
  baseRef: str({ min: 1 }),
  agent: literal(...AGENT_IDS),
  model: optional(str({ min: 1 })),
  prompt: str({ min: 1 }),
  permissionMode: literal(...PERMISSION_MODES),
});

export const seqDecoder = int({ min: 1 });
