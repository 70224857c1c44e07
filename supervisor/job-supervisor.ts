import type { Logger } from 'pino';
import { conflict, notFound } from '../machines/app-error.ts';
import type { DiffFileStat, DiffStats, SequencedEvent } from '../machines/domain-events.ts';
import type { JobMachineEvent } from '../machines/job-events.ts';
import { isTerminal, type JobSpec, type Resolution } from '../machines/job-spec.ts';
import type { Job } from '../api/contract.ts';
import type { Db } from './db/database.ts';
import * as jobsRepo from './db/jobs-repo.ts';
import type { EventLog } from './event-log.ts';
import { addWorktree, resolveCommit } from './git/worktrees.ts';
import { copyWorktreeIncludes } from './git/worktree-setup.ts';
import { superviseTransition } from './job-commands.ts';
import { jobDirFor, socketPathFor, type Paths } from './paths.ts';
import { SLOT_STATES, pickJobsToStart, type SchedulerLimits } from './scheduler.ts';
import { WorkerHandle } from './worker-handle.ts';

export interface JobSupervisorDeps {
  db: Db;
  eventLog: EventLog;
  paths: Paths;
  limits: SchedulerLimits;
  log: Logger;
  /** The environment workers (and so the agent CLIs) get. */
  workerEnv: NodeJS.ProcessEnv;
}

const SHUTDOWN_GRACE_MS = 5_000;

/**
 * Owns the job workers: starts queued jobs when the scheduler has room,
 * persists and acknowledges their events, relays user commands, and notices
 * when a worker dies.
 */
export class JobSupervisor {
  private readonly workers = new Map<string, WorkerHandle>();
  private readonly starting = new Set<string>();
  private closed = false;

  constructor(private readonly deps: JobSupervisorDeps) {}

  /** Starts as many queued jobs as the caps allow. Safe to call any time. */
  tick(): void {
    if (this.closed) return;
    const { db, limits } = this.deps;
    const all = jobsRepo.listQueued(db);
    const queue = all.filter((j) => !this.starting.has(j.id));
    const active = jobsRepo.listByStates(db, SLOT_STATES).map((j) => ({ id: j.id, repoId: j.repoId }));
    for (const startingId of this.starting) if (!active.some((a) => a.id === startingId)) {
      const j = jobsRepo.getJob(db, startingId);
      if (j) active.push({ id: j.id, repoId: j.repoId });
    }
    for (const pick of pickJobsToStart(queue, active, limits)) {
      this.starting.add(pick.id);
      void this.startJob(pick.id)
        .catch((e: unknown) => this.deps.log.error({ err: e, jobId: pick.id }, 'could not start job'))
        .finally(() => this.starting.delete(pick.id));
    }
  }

  /** A supervisor-side transition (no live worker): appended like any worker event. */
  applyWithoutWorker(jobId: string, event: JobMachineEvent): Job {
    const job = this.mustGet(jobId);
    const r = superviseTransition({ id: job.id, state: job.state, lastSeq: jobsRepo.getLastSeq(this.deps.db, jobId), ...(job.agentSessionId ? { agentSessionId: job.agentSessionId } : {}) }, event, new Date().toISOString());
    if (!r) throw conflict('INVALID_STATE', `cannot ${event.type.toLowerCase()} a job that is ${job.state}`);
    this.deps.eventLog.append(jobId, r.events);
    return this.mustGet(jobId);
  }

  worker(jobId: string): WorkerHandle | undefined {
    const w = this.workers.get(jobId);
    return w?.alive ? w : undefined;
  }

  async cancel(jobId: string): Promise<Job> {
    const job = this.mustGet(jobId);
    const w = this.worker(jobId);
    if (w) {
      if (!['running', 'waiting_for_approval', 'review', 'preparing'].includes(job.state)) throw conflict('INVALID_STATE', `cannot cancel a job that is ${job.state}`);
      w.send({ type: 'cancel', reason: 'canceled by the user' });
      return job;
    }
    if (this.starting.has(jobId)) throw conflict('JOB_STARTING', 'the job is starting; try again in a moment');
    const updated = this.applyWithoutWorker(jobId, { type: 'CANCEL', reason: 'canceled by the user' });
    this.tick();
    return updated;
  }

  /** Graceful: ask every worker to stop, wait a grace period, then kill. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const live = [...this.workers.entries()].filter(([, w]) => w.alive);
    for (const [, w] of live) w.send({ type: 'shutdown', reason: 'the server stopped' });
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    while (live.some(([, w]) => w.alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const [, w] of live) w.destroy();
  }

  private mustGet(jobId: string): Job {
    const job = jobsRepo.getJob(this.deps.db, jobId);
    if (!job) throw notFound('JOB_NOT_FOUND', `no job ${jobId}`);
    return job;
  }

  private async startJob(jobId: string): Promise<void> {
    const { db, paths, log } = this.deps;
    const job = this.mustGet(jobId);
    if (job.state !== 'queued') return;
    this.applyWithoutWorker(jobId, { type: 'PREPARE' });
    const jlog = log.child({ jobId });
    const row = jobsRepo.getJob(db, jobId)!;
    try {
      const commit = await resolveCommit(row.repo, row.baseRef);
      await addWorktree(row.repo, row.worktreePath, row.branch, commit);
      // Gitignored files the project needs (.env…) listed in .worktreeinclude.
      const { copied } = await copyWorktreeIncludes({ repoPath: row.repo, worktreePath: row.worktreePath });
      if (copied.length) jlog.info({ copied }, 'copied .worktreeinclude files into the worktree');
    } catch (e) {
      const reason = `could not create the worktree: ${e instanceof Error ? e.message.trim() : String(e)}`;
      jlog.warn({ err: e }, reason);
      this.applyWithoutWorker(jobId, { type: 'PREPARE_FAILED', reason });
      this.tick();
      return;
    }
    const spec: JobSpec = {
      jobId,
      repoPath: row.repo,
      worktreePath: row.worktreePath,
      branch: row.branch,
      baseRef: row.baseRef,
      agent: row.agent,
      prompt: row.prompt,
      permissionMode: row.permissionMode,
      ...(row.model ? { model: row.model } : {}),
    };
    await this.spawnWorker(spec, jobsRepo.getLastSeq(db, jobId), row.agentSessionId);
    jlog.info({ worktree: row.worktreePath, branch: row.branch }, 'worker started');
  }

  private async spawnWorker(spec: JobSpec, lastSeq: number, resumeSessionId: string | undefined): Promise<void> {
    const { paths, log } = this.deps;
    const jobId = spec.jobId;
    const handle = WorkerHandle.spawn(
      { jobId, home: paths.home, socketPath: socketPathFor(paths, jobId), jobDir: jobDirFor(paths, jobId), env: this.deps.workerEnv },
      {
        onEvents: (events) => this.persist(jobId, events),
        onSnapshot: (_seq, snapshot) => jobsRepo.setSnapshot(this.deps.db, jobId, snapshot),
        onRejected: (m) => log.warn({ jobId, command: m.command, code: m.code }, m.message),
        onExit: (info) => this.onWorkerExit(jobId, handle, info),
        log: (level, message) => log[level]({ jobId }, message),
      },
    );
    this.workers.set(jobId, handle);
    try {
      const { started } = await handle.connect(lastSeq);
      if (!started) handle.send({ type: 'start', spec, nextSeq: lastSeq + 1, ...(resumeSessionId ? { resumeSessionId } : {}) });
    } catch (e) {
      handle.destroy();
      throw e;
    }
  }

  private persist(jobId: string, events: SequencedEvent[]): void {
    this.deps.eventLog.append(jobId, events);
    if (events.some((e) => e.event.type === 'job_state_changed')) this.tick();
  }

  private onWorkerExit(jobId: string, handle: WorkerHandle, info: { code: number | null; signal: string | null; stderrTail: string }): void {
    if (this.workers.get(jobId) === handle) this.workers.delete(jobId);
    const job = jobsRepo.getJob(this.deps.db, jobId);
    if (!job || this.closed) return;
    this.deps.log.info({ jobId, code: info.code, signal: info.signal, state: job.state }, 'worker exited');
    if (isTerminal(job.state) || job.state === 'review') {
      this.tick();
      return;
    }
    const how = info.signal ? `was killed (${info.signal})` : `exited with code ${info.code}`;
    const tail = info.stderrTail ? `: ${info.stderrTail.split('\n').slice(-5).join(' | ')}` : '';
    this.applyWithoutWorker(jobId, { type: 'WORKER_LOST', reason: `the job worker ${how}${tail}` });
    this.tick();
  }

  /** Publishes a diff summary as the job's own event (the worker numbers it when it is alive). */
  publishDiff(jobId: string, summary: { stats: DiffStats; files: DiffFileStat[] }): void {
    const w = this.worker(jobId);
    if (w) {
      w.send({ type: 'publish_diff', stats: summary.stats, files: summary.files });
      return;
    }
    const job = jobsRepo.getJob(this.deps.db, jobId);
    if (!job || !['running', 'waiting_for_approval', 'review'].includes(job.state)) return;
    this.applyWithoutWorker(jobId, { type: 'DIFF.UPDATED', stats: summary.stats, files: summary.files });
  }

  /** Moves a job in review to completed, through its worker when one is alive; resolves once it is recorded. */
  async resolveJob(jobId: string, resolution: Resolution, prUrl?: string): Promise<void> {
    const event = prUrl === undefined ? { type: 'RESOLVE' as const, resolution } : { type: 'RESOLVE' as const, resolution, prUrl };
    const w = this.worker(jobId);
    if (!w) {
      this.applyWithoutWorker(jobId, event);
      return;
    }
    w.send({ type: 'resolve', resolution, ...(prUrl ? { prUrl } : {}) });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (jobsRepo.getJob(this.deps.db, jobId)?.state === 'completed') return;
      if (!this.worker(jobId)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // The worker died or went silent: record the resolution ourselves.
    if (jobsRepo.getJob(this.deps.db, jobId)?.state === 'review' && !this.worker(jobId)) this.applyWithoutWorker(jobId, event);
  }

  /** Resolves once the job has no live worker (its agent no longer holds the worktree). */
  async workerGone(jobId: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.worker(jobId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}
