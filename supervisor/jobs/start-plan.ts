import type { Job } from '../../api/contract.ts';
import type { SupervisorMessage } from '../../machines/ipc-protocol.ts';
import type { JobSpec } from '../../machines/job-spec.ts';

/** How a worker starts: fresh, or continuing from a snapshot (see the `start` IPC message). */
export type StartPlan = Pick<Extract<SupervisorMessage, { type: 'start' }>, 'snapshot' | 'recovery' | 'firstMessage' | 'idle' | 'fallbackPrompt' | 'restartKind' | 'heldApprovals'>;

/** What a resumed agent is told when its previous process died mid-turn. */
export const RESUME_AFTER_LOSS =
  'Your previous session was interrupted (the CodePlane worker running it stopped). Check the current state of the work and continue the task where you left off.';

export function specOf(job: Job): JobSpec {
  return {
    jobId: job.id,
    repoPath: job.repo,
    worktreePath: job.worktreePath,
    branch: job.branch,
    baseRef: job.baseRef,
    agent: job.agent,
    prompt: job.prompt,
    permissionMode: job.permissionMode,
    ...(job.model ? { model: job.model } : {}),
  };
}

export function snapshotOf(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
