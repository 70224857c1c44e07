/**
 * Resuming a job. One in review continues in its live (or revived) agent
 * session; a failed or canceled one gets a new worker that resumes the
 * agent's own session, or, if that is gone, a fresh one primed with a summary
 * of the transcript.
 */
import type { Job } from '../../api/contract.ts';
import { conflict } from '../../machines/app-error.ts';
import type { JobMachineEvent } from '../../machines/job-events.ts';
import type { Db } from '../db/database.ts';
import * as eventsRepo from '../db/events-repo.ts';
import { resumeSummary } from './resume-summary.ts';
import { workspaceProblem } from './workspace-check.ts';
import { RESUME_AFTER_LOSS, type StartPlan } from './start-plan.ts';
import type { WorkerHandle } from '../workers/worker-handle.ts';

/** What resuming needs of the job supervisor. */
export interface ResumeHost {
  readonly db: Db;
  mustGet(jobId: string): Job;
  worker(jobId: string): WorkerHandle | undefined;
  isStarting(jobId: string): boolean;
  ensureWorker(jobId: string): Promise<WorkerHandle>;
  workerGone(jobId: string, timeoutMs?: number): Promise<void>;
  applyWithoutWorker(jobId: string, event: JobMachineEvent): Job;
  spawnWorker(job: Job, plan: StartPlan): Promise<WorkerHandle>;
  /** Runs `send` once the ref guard has recorded the refs (a new turn). */
  startTurn(job: Job, send: () => void): Promise<void>;
  /** A new turn of a job in review: its worker revived if needed and kept from the idle parker until `message` is sent. */
  turnInReview(jobId: string, message: (w: WorkerHandle) => void): Promise<void>;
}

/** How long a resume waits for the previous worker to exit. */
const STOP_WAIT_MS = 30_000;

export async function resumeJob(host: ResumeHost, jobId: string, instruction?: string): Promise<Job> {
  const job = host.mustGet(jobId);
  const text = instruction?.trim() ? instruction.trim() : undefined;
  if (job.state === 'review') {
    await host.turnInReview(jobId, (w) => w.send(text ? { type: 'resume', instruction: text } : { type: 'resume' }));
    return job;
  }
  if (job.state !== 'failed' && job.state !== 'canceled') throw conflict('INVALID_STATE', `only a job that failed, was canceled or is in review can be resumed; this one is ${job.state}`);
  // The worker of a job that just failed or was canceled may still be stopping its agent and
  // flushing its last events: a resume right after a cancel waits for that instead of refusing.
  await host.workerGone(jobId, STOP_WAIT_MS);
  if (host.worker(jobId) || host.isStarting(jobId)) throw conflict('JOB_STOPPING', `the job's agent has not stopped after ${STOP_WAIT_MS / 1000} s; try again in a moment`);
  const vanished = await workspaceProblem(job);
  if (vanished) throw conflict(vanished.code, vanished.message);
  const recent = eventsRepo.transcript(host.db, jobId, { limit: 40 });
  host.applyWithoutWorker(jobId, text ? { type: 'RESUME', instruction: text } : { type: 'RESUME' });
  const resumed = host.mustGet(jobId);
  try {
    await host.spawnWorker(resumed, {
      fallbackPrompt: resumeSummary(job.prompt, recent, text),
      ...(job.agentSessionId ? { firstMessage: text ?? RESUME_AFTER_LOSS } : text ? { firstMessage: text } : {}),
    });
  } catch (e) {
    host.applyWithoutWorker(jobId, { type: 'WORKER_LOST', reason: `could not start a worker to resume the job: ${e instanceof Error ? e.message : String(e)}` });
  }
  return host.mustGet(jobId);
}
