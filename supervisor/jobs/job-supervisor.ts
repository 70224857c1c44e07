import type { Logger } from 'pino';
import { conflict, notFound } from '../../machines/app-error.ts';
import type { SequencedEvent } from '../../machines/domain-events.ts';
import type { JobMachineEvent } from '../../machines/job-events.ts';
import { isTerminal, type AgentId } from '../../machines/job-spec.ts';
import type { Job } from '../../api/contract.ts';
import type { Db } from '../db/database.ts';
import * as jobsRepo from '../db/jobs-repo.ts';
import type { EventLog } from '../events/event-log.ts';
import { isWorktreeOn, removeWorktree } from '../git/worktrees.ts';
import { prepareWorktree } from './job-preparation.ts';
import { superviseTransition } from './job-commands.ts';
import { jobDirFor, socketPathFor, type Paths } from '../paths.ts';
import { SLOT_STATES, holdsSlot, pickJobsToStart, type SchedulerLimits } from './scheduler.ts';
import { WaitClock } from '../wait-clock.ts';
import { WorkerHandle, type WorkerHandlers } from '../workers/worker-handle.ts';
import { PARKED_NOTE, WorkerRegistry } from '../workers/worker-registry.ts';
import { WorkerResync } from '../workers/worker-resync.ts';
import { RESUME_AFTER_LOSS, snapshotOf, specOf, type StartPlan } from './start-plan.ts';
import { DEFAULT_RESTART_POLICY, decideRestart, type RestartPolicy } from './restart-policy.ts';
import * as approvalsRepo from '../db/approvals-repo.ts';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { resumeJob } from './job-resume.ts';
import { recordStop, takeStopRecord, type StopMode } from './stop-record.ts';
import type { RestartKind } from '../../machines/domain-events.ts';
import { defaultWorkerArgs } from '../workers/worker-bundle.ts';
import { isStorageUnavailable } from '../storage/storage-state.ts';
import { join } from 'node:path';
import { RefGuard, type ContainmentAlarm } from '../refguard/ref-guard.ts';
import type { DomainEvent } from '../../machines/domain-events.ts';
import { WORKSPACE_STATES, assertWorkspace, workspaceProblem } from './workspace-check.ts';

/** A worker process spawned ahead of its `start` (see launchWorker). */
interface LaunchedWorker {
  handle: WorkerHandle;
  adopt(): void;
}

export interface JobSupervisorDeps {
  /** See config `setupCommands`. */
  setupCommands?: Record<string, string>;
  restartPolicy?: RestartPolicy;
  db: Db;
  eventLog: EventLog;
  paths: Paths;
  limits: SchedulerLimits;
  log: Logger;
  /** The environment workers (and so the agent CLIs) get. */
  workerEnv: NodeJS.ProcessEnv;
  /** Node arguments that run a worker (worker-bundle.ts); defaultWorkerArgs() when absent. */
  workerArgs?: string[];
  /** How much lower than the server's the workers' CPU priority is (config `workerNice`). */
  workerNice?: number;
}

/**
 * Owns the job workers: starts queued jobs when the scheduler has room,
 * persists and acknowledges their events, relays user commands, and notices
 * when a worker dies.
 */
export class JobSupervisor {
  private readonly workers = new WorkerRegistry();
  private readonly starting = new Set<string>();
  /** Jobs whose worker is being handed a new turn (turnInReview): the idle parker leaves them alone. */
  private readonly inUse = new Map<string, number>();
  private readonly restarts = new Map<string, number[]>();
  /** Re-attached workers whose first batch (their whole unacknowledged outbox) has not arrived yet. */
  private readonly awaitingResend = new Set<string>();
  /** The newest snapshot per job not stored yet (see storeSnapshot). */
  private readonly pendingSnapshots = new Map<string, { seq: number; snapshot: unknown }>();
  private readonly resyncs = new WorkerResync((id) => this.workers.get(id)?.connect(jobsRepo.getLastSeq(this.deps.db, id), 5000).then(() => undefined),
    (jobId, err) => this.deps.log.warn({ jobId, err }, 'could not reconnect to the worker to have it re-send its events'));
  private closed = false;
  /** How long jobs wait for approval, on the monotonic clock (the approval hold). */
  private readonly waits = new WaitClock();
  /** Refs and HEADs checked around every agent turn (issue 13; see refguard/ref-guard.ts). */
  readonly refGuard: RefGuard;

  constructor(private readonly deps: JobSupervisorDeps) {
    this.refGuard = new RefGuard({
      jobDir: (jobId) => jobDirFor(deps.paths, jobId),
      alarm: (jobId, alarm) => this.publishAlarm(jobId, alarm),
      checked: (jobId, r) => deps.log.info({ jobId, ...r }, r.turnOver ? 'ref guard: turn checked' : 'ref guard: checked while waiting for approval'),
      warn: (jobId, message) => {
        deps.log.warn({ jobId }, message);
        // In the job's own log too when the supervisor numbers its events (no worker); else the server log has it.
        if (!this.worker(jobId)) try {
          this.applyWithoutWorker(jobId, { type: 'AGENT.LOG', level: 'warn', message });
        } catch {
          // not in a state that keeps log lines: the server log has it
        }
      },
    });
  }

  /** Starts a turn of the job's agent: the ref guard records the refs first, then `send` runs. */
  async startTurn(job: Job, send: () => void, opts: { continuing?: boolean } = {}): Promise<void> {
    const unchecked = await this.refGuard.beginTurn(job, opts);
    send();
    // After the send: a worker told to start numbers it once its job runs (it queues commands meanwhile).
    if (unchecked) void this.publishAlarm(job.id, unchecked);
  }

  /**
   * A turn ended (the job left running for review, failed or canceled): the ref guard checks it.
   * A turn that stopped to ask for an approval is checked too, so an alarm comes before the answer.
   */
  private noticeTurnEnds(jobId: string, events: readonly { event: DomainEvent }[]): void {
    if (!this.refGuard.watching(jobId)) return;
    const to = events.flatMap(({ event: e }) => (e.type === 'job_state_changed' ? [e.to] : []));
    const ended = to.some((s) => s === 'review' || s === 'failed' || s === 'canceled' || s === 'completed');
    if (ended) void this.refGuard.endTurn(jobId);
    else if (to.includes('waiting_for_approval')) void this.refGuard.midTurn(jobId);
  }

  /**
   * The guard's alarm as the job's own event: numbered by its live worker, or
   * appended here once that worker is gone (a failed or canceled job's worker
   * exits; an event sent to it while it flushes could be lost).
   */
  private async publishAlarm(jobId: string, alarm: ContainmentAlarm): Promise<void> {
    this.deps.log.error({ jobId, changes: alarm.changes }, alarm.message);
    const job = jobsRepo.getJob(this.deps.db, jobId);
    if (job && isTerminal(job.state)) await this.workerGone(jobId).catch(() => undefined);
    if (this.worker(jobId)?.send({ type: 'publish_alarm', alarm })) return;
    try {
      this.applyWithoutWorker(jobId, { type: 'GUARD.ALARM', alarm });
    } catch (e) {
      this.deps.log.error({ jobId, err: e }, 'could not record the containment alarm on the job');
    }
  }

  /** Starts as many queued jobs as the caps allow. Safe to call any time. */
  tick(): void {
    if (this.closed) return;
    const { db, limits } = this.deps;
    const all = jobsRepo.listQueued(db);
    const queue = all.filter((j) => !this.starting.has(j.id));
    const slotJobs = jobsRepo.listByStates(db, SLOT_STATES);
    this.waits.retain(new Set(slotJobs.map((j) => j.id)));
    const active = slotJobs
      .filter((j) => holdsSlot(j, this.waits.waitedMs(j), limits))
      .map((j) => ({ id: j.id, repoId: j.repoId }));
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
    const pendingApprovals = job.state === 'waiting_for_approval' ? approvalsRepo.listApprovals(this.deps.db, { state: 'pending', jobId }).map((a) => a.id) : [];
    const r = superviseTransition({ id: job.id, state: job.state, lastSeq: jobsRepo.getLastSeq(this.deps.db, jobId), pendingApprovals, ...(job.agentSessionId ? { agentSessionId: job.agentSessionId } : {}) }, event, new Date().toISOString());
    if (!r) throw conflict('INVALID_STATE', `cannot ${event.type.toLowerCase()} a job that is ${job.state}`);
    this.deps.eventLog.append(jobId, r.events);
    this.noticeTurnEnds(jobId, r.events);
    return this.mustGet(jobId);
  }

  /** Stops the workers of jobs idle in review for `idleMs` (config idleWorkerSeconds); ensureWorker revives them. */
  parkIdleWorkers(idleMs: number): string[] {
    // Only a job whose agent session can be resumed: its conversation must outlive the CLI. Never
    // a worker being handed a message or a resume (revived, waiting for the ref guard's record).
    const mayPark = (id: string) => { const j = jobsRepo.getJob(this.deps.db, id); return j?.state === 'review' && !!j.agentSessionId && !this.inUse.has(id); };
    return this.workers.parkIdle(idleMs, mayPark, `idle in review for ${Math.round(idleMs / 1000)} s`);
  }

  private noteParked(jobId: string): void {
    try {
      this.applyWithoutWorker(jobId, { type: 'AGENT.LOG', level: 'info', message: PARKED_NOTE });
    } catch (e) {
      this.deps.log.warn({ jobId, err: e }, 'could not record that the idle worker was stopped');
    }
  }

  /** Has the job's worker re-send everything after the last stored seq (see WorkerResync). */
  resync = (jobId: string): void => this.resyncs.request(jobId);

  worker(jobId: string): WorkerHandle | undefined {
    return this.workers.get(jobId);
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

  /**
   * `checkpoint` (cpl down, SIGTERM): every worker interrupts its agent, keeps
   * the session id, and exits; the next start resumes the jobs. `detach`
   * (cpl restart): workers keep running and the next supervisor re-attaches.
   * Idempotent.
   */
  async close(mode: 'checkpoint' | 'detach' = 'checkpoint'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.workers.closeAll(mode);
    recordStop(this.deps.paths, mode); // the next start names the restart in each job's transcript
  }

  /**
   * At startup: adopt every worker still listening (they re-send what was not
   * persisted), remove stale sockets, and restart active jobs whose worker is
   * gone, resuming their agent sessions.
   */
  async recoverAtStartup(): Promise<void> {
    const { paths, db, log } = this.deps;
    const previous = takeStopRecord(paths);
    for (const file of readdirSync(paths.run).filter((f) => f.endsWith('.sock'))) {
      const jobId = file.slice(0, -'.sock'.length);
      if (await this.attachWorker(jobId)) this.noteReattached(jobId, previous);
      else {
        rmSync(join(paths.run, file), { force: true });
        log.info({ jobId }, 'removed a stale worker socket');
      }
    }
    const [kind, why]: [RestartKind, string] =
      previous === 'checkpoint'
        ? ['graceful_stop', 'CodePlane was stopped while the job ran (cpl down or SIGTERM)']
        : ['lost', 'CodePlane found the job worker gone at start (the machine restarted, or the server and its workers were killed)'];
    for (const job of jobsRepo.listByStates(db, ['preparing', 'running', 'waiting_for_approval'])) {
      if (this.worker(job.id)) continue;
      try {
        await this.recoverLostWorker(job, why, { budget: false, kind });
      } catch (e) {
        // One job that cannot be recovered (read-only storage, a vanished repository) must not leave the others unrecovered.
        log.error({ jobId: job.id, err: e }, 'could not recover the job at start-up');
      }
    }
  }

  /** A worker that outlived the previous server records that restart in its job's transcript. */
  private noteReattached(jobId: string, previous: StopMode | undefined): void {
    const state = jobsRepo.getJob(this.deps.db, jobId)?.state;
    if (!state || isTerminal(state)) return;
    const reason = previous === 'detach'
      ? 'CodePlane was restarted (cpl restart); it re-attached to the running job worker'
      : 'CodePlane stopped unexpectedly (killed or crashed) and was started again; it re-attached to the running job worker';
    this.worker(jobId)?.send({ type: 'restarted', kind: 'restart', reason });
  }

  /**
   * Resume: a job in review continues in its live (or revived) session; a
   * failed or canceled one gets a new worker that resumes the agent's own
   * session, or, if that is gone, a fresh one primed with a summary.
   */
  resume(jobId: string, instruction?: string): Promise<Job> {
    return resumeJob(this, jobId, instruction);
  }

  get db(): Db {
    return this.deps.db;
  }

  isStarting(jobId: string): boolean {
    return this.starting.has(jobId);
  }

  /**
   * Starts a new turn of a job in review with a message for its agent: its worker (revived if it
   * was parked) is kept from the idle parker from before it is revived until the message is sent,
   * however long the ref guard takes to record the refs; otherwise the parker could stop the
   * freshly revived worker in between and the message would be lost.
   */
  async turnInReview(jobId: string, message: (w: WorkerHandle) => void): Promise<void> {
    this.inUse.set(jobId, (this.inUse.get(jobId) ?? 0) + 1);
    try {
      const w = await this.ensureWorker(jobId);
      await this.startTurn(this.mustGet(jobId), () => message(w));
    } finally {
      const n = (this.inUse.get(jobId) ?? 1) - 1;
      if (n > 0) this.inUse.set(jobId, n);
      else this.inUse.delete(jobId);
    }
  }

  /** A job in review whose worker is gone (or parked, once it has exited) gets one (idle, same agent session) when the user needs it. */
  async ensureWorker(jobId: string): Promise<WorkerHandle> {
    await this.workers.parkedGone(jobId); // it still holds the socket path and the agent session
    const job = this.mustGet(jobId);
    await assertWorkspace(job, this.workspaceLost); // no follow-up into (or agent revived in) a vanished worktree
    const live = this.worker(jobId);
    if (live) return live;
    const snapshot = snapshotOf(jobsRepo.getSnapshot(this.deps.db, jobId));
    if (job.state !== 'review' || !snapshot) throw conflict('AGENT_NOT_RUNNING', `the job's agent session is not running (the job is ${job.state})`);
    return this.spawnWorker(job, { snapshot, idle: true, recovery: 'Resumed the agent session for a new message.' });
  }

  /** Restarts a job whose worker died, from its persisted snapshot, within the restart budget. */
  private async recoverLostWorker(job: Job, why: string, opts: { budget: boolean; kind: RestartKind }): Promise<void> {
    const fail = (reason: string) => {
      try {
        this.applyWithoutWorker(job.id, { type: 'WORKER_LOST', reason });
      } catch (e) {
        this.deps.log.warn({ jobId: job.id, err: e }, 'could not record the lost worker');
      }
    };
    // A new worker in a vanished repository or worktree could do nothing: the job fails, naming it.
    const vanished = job.state === 'preparing' ? undefined : await workspaceProblem(job);
    if (vanished) return this.workspaceLost(job.id, `${why}; ${vanished.reason}`);
    let attempt = 0;
    if (opts.budget) {
      const d = decideRestart(this.restarts.get(job.id) ?? [], performance.now(), this.deps.restartPolicy ?? DEFAULT_RESTART_POLICY); // in-memory history: monotonic
      this.restarts.set(job.id, d.history);
      if (!d.restart) return fail(`${why}; ${d.reason}`);
      attempt = d.attempt;
    }
    if (job.state === 'preparing') return this.recoverPreparing(job);
    const snapshot = snapshotOf(jobsRepo.getSnapshot(this.deps.db, job.id));
    if (!snapshot) return fail(`${why} before the agent started`);
    const held = this.heldApprovals(job, snapshot);
    const restarted = `${why}; ${attempt ? `restarted it (restart ${attempt})` : 'started it again'}`;
    const plan: StartPlan = held.length
      ? {
          snapshot,
          recovery: `${restarted}. The agent's turn was interrupted while it waited for approval: ${held.length === 1 ? 'the approval still waits' : `${held.length} approvals still wait`} for your answer, and the agent session resumes with it.`,
          restartKind: opts.kind,
          idle: true,
          heldApprovals: held.map((h) => h.request),
        }
      : {
          snapshot,
          recovery: `${restarted} and ${job.agentSessionId ? 'resumed the agent session' : 'restarted the task'}.`,
          restartKind: opts.kind,
          ...(job.agentSessionId ? { firstMessage: RESUME_AFTER_LOSS } : {}),
        };
    try {
      const handle = await this.spawnWorker(job, plan);
      // Answers given while no worker could take them (the server was down, or this one was starting).
      for (const h of held) {
        const answer = approvalsRepo.storedRequest(this.deps.db, h.request.id)?.answer;
        if (answer) handle.send({ type: 'approval_decision', approvalId: h.request.id, ...answer });
      }
    } catch (e) {
      // spawnWorker destroys a worker it could not reach, and that worker's exit (already seen, or
      // about to be) is handled like any lost worker: recovered again within the restart budget.
      // Failing the job here as well raced that recovery: a job failed while its next worker started.
      this.deps.log.warn({ jobId: job.id, err: e }, `${why}, and the new worker could not be reached; its exit is handled as another loss`);
    }
  }

  /**
   * The approvals a job waiting for approval keeps across a restart of its worker: the ones its
   * statechart waits for and any still pending in the store. None without an agent session to
   * resume (nobody could be told the answer), or if one of them is unknown to the store.
   */
  private heldApprovals(job: Job, snapshot: Record<string, unknown>): NonNullable<ReturnType<typeof approvalsRepo.storedRequest>>[] {
    if (job.state !== 'waiting_for_approval' || !job.agentSessionId) return [];
    const context = snapshot['context'];
    const waited = typeof context === 'object' && context !== null ? (context as Record<string, unknown>)['pendingApprovals'] : undefined;
    const ids = new Set([
      ...(Array.isArray(waited) ? waited.filter((id): id is string => typeof id === 'string') : []),
      ...approvalsRepo.listApprovals(this.deps.db, { state: 'pending', jobId: job.id }).map((a) => a.id),
    ]);
    const stored = [...ids].map((id) => approvalsRepo.storedRequest(this.deps.db, id));
    if (stored.some((s) => !s || s.jobId !== job.id)) return [];
    return stored.filter((s): s is NonNullable<typeof s> => s !== undefined);
  }

  /** A job caught in preparing: keep a sound worktree, redo a half-made one, then start it normally. */
  private async recoverPreparing(job: Job): Promise<void> {
    const sound = existsSync(job.worktreePath) && (await isWorktreeOn(job.worktreePath, job.branch));
    if (!sound) await this.refGuard.ownChange(job.repo, (ref) => ref === `refs/heads/${job.branch}`, () => removeWorktree(job.repo, job.worktreePath, job.branch)).catch(() => undefined);
    this.deps.log.info({ jobId: job.id, worktreeKept: sound }, 'restarting a job that was interrupted while preparing');
    await this.prepareAndSpawn(job.id, { worktreeReady: sound });
  }

  /**
   * The job's repository or worktree vanished (WorkspaceWatch, a route, a lost worker): the job
   * fails with `reason`, through its worker when one is alive (it numbers the job's events and
   * stops the agent), else recorded here. A job already out of the states that hold a worktree
   * is left as it is.
   */
  workspaceLost = (jobId: string, reason: string): void => {
    const job = jobsRepo.getJob(this.deps.db, jobId);
    if (!job || !WORKSPACE_STATES.includes(job.state)) return;
    const w = this.worker(jobId);
    if (w) {
      w.send({ type: 'workspace_lost', reason });
      return;
    }
    if (this.starting.has(jobId)) return; // its worker is about to exist; it is told on the next look
    try {
      this.applyWithoutWorker(jobId, { type: 'WORKSPACE_LOST', reason });
    } catch (e) {
      this.deps.log.warn({ jobId, err: e }, 'could not record that the job\'s workspace vanished');
    }
    this.tick();
  };

  mustGet(jobId: string): Job {
    const job = jobsRepo.getJob(this.deps.db, jobId);
    if (!job) throw notFound('JOB_NOT_FOUND', `no job ${jobId}`);
    return job;
  }

  private async startJob(jobId: string): Promise<void> {
    const job = this.mustGet(jobId);
    if (job.state !== 'queued') return;
    this.applyWithoutWorker(jobId, { type: 'PREPARE' });
    await this.prepareAndSpawn(jobId, { worktreeReady: false });
  }

  /**
   * Creates the job's worktree (unless it is already there) and starts its
   * worker. Any failure fails the job with the reason: never stuck in preparing.
   */
  private async prepareAndSpawn(jobId: string, opts: { worktreeReady: boolean }): Promise<void> {
    const { db, log } = this.deps;
    const jlog = log.child({ jobId });
    const row = jobsRepo.getJob(db, jobId)!;
    if (opts.worktreeReady) return await this.spawnAndLog(row, jlog);
    // The worker process boots (Node, its bundle, the agent SDK) while git creates the worktree;
    // it is only told to start once the worktree is there.
    const early = this.launchWorker(row);
    try {
      await prepareWorktree(row, {
        ...(this.deps.setupCommands ? { setupCommands: this.deps.setupCommands } : {}),
        log: jlog,
        jobLog: (message, level) => this.applyWithoutWorker(jobId, { type: 'SETUP.LOG', level, message }),
        ownRefChange: (repo, touches, op) => this.refGuard.ownChange(repo, touches, op),
      });
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      jlog.warn({ err: e }, reason);
      this.applyWithoutWorker(jobId, { type: 'PREPARE_FAILED', reason });
      early.handle.destroy();
      this.tick();
      return;
    }
    await this.spawnAndLog(row, jlog, early);
  }

  private async spawnAndLog(row: Job, jlog: Logger, early?: LaunchedWorker): Promise<void> {
    try {
      await this.spawnWorker(row, {}, early);
      jlog.info({ worktree: row.worktreePath, branch: row.branch }, 'worker started');
    } catch (e) {
      const reason = `could not start the job worker: ${e instanceof Error ? e.message : String(e)}`;
      jlog.error({ err: e }, reason);
      if (jobsRepo.getJob(this.deps.db, row.id)?.state === 'preparing') this.applyWithoutWorker(row.id, { type: 'PREPARE_FAILED', reason });
    }
  }

  /** Spawns a worker for the job and starts it (fresh, or continuing from its snapshot). */
  async spawnWorker(job: Job, plan: StartPlan, launched?: LaunchedWorker): Promise<WorkerHandle> {
    const jobId = job.id;
    const { handle, adopt } = launched ?? this.launchWorker(job);
    adopt();
    this.workers.set(jobId, handle);
    try {
      const lastSeq = jobsRepo.getLastSeq(this.deps.db, jobId);
      const { started } = await handle.connect(lastSeq);
      const start = () =>
        handle.send({
          type: 'start',
          spec: specOf(job),
          nextSeq: lastSeq + 1,
          ...(job.agentSessionId ? { resumeSessionId: job.agentSessionId } : {}),
          ...plan,
        });
      // Every start but an idle one (a session reopened in review) begins or continues a turn.
      if (!started) await (plan.idle ? Promise.resolve(start()) : this.startTurn(job, start, { continuing: !!plan.snapshot }));
      return handle;
    } catch (e) {
      handle.destroy();
      throw e;
    }
  }

  /**
   * Spawns a worker process that is not yet the job's worker: until `adopt()`
   * its exit is nobody's business (the caller destroys it if preparing fails).
   */
  private launchWorker(job: Job): LaunchedWorker {
    let adopted = false;
    const handle: WorkerHandle = WorkerHandle.spawn(this.workerOptions(job.id, job.agent), this.handlersFor(job.id, () => handle, () => adopted));
    return { handle, adopt: () => void (adopted = true) };
  }

  /** Adopts a worker that outlived a previous supervisor; re-sends answers given while it was away. */
  async attachWorker(jobId: string): Promise<boolean> {
    const job = jobsRepo.getJob(this.deps.db, jobId);
    let handle: WorkerHandle | undefined;
    try {
      const attached = await WorkerHandle.attach(this.workerOptions(jobId), this.handlersFor(jobId, () => handle!), jobsRepo.getLastSeq(this.deps.db, jobId));
      handle = attached.handle;
      if (!job) {
        this.deps.log.warn({ jobId, pid: attached.handshake.pid }, 'a worker runs for a job that does not exist; stopping it');
        handle.destroy();
        return false;
      }
      this.workers.set(jobId, handle);
      this.refGuard.adopt(jobId); // a turn that started under the previous supervisor is still checked when it ends
      for (const approvalId of attached.handshake.pendingApprovals) {
        const a = approvalsRepo.getApproval(this.deps.db, approvalId);
        if (a?.resolution) handle.send({ type: 'approval_decision', approvalId, resolution: a.resolution, ...(a.note !== undefined ? { note: a.note } : {}) });
      }
      this.awaitingResend.add(jobId);
      this.deps.log.info({ jobId, pid: attached.handshake.pid }, 're-attached to a running worker');
      return true;
    } catch {
      return false;
    }
  }

  private workerOptions(jobId: string, agent?: AgentId) {
    const { paths } = this.deps;
    return { jobId, home: paths.home, socketPath: socketPathFor(paths, jobId), jobDir: jobDirFor(paths, jobId), env: this.deps.workerEnv, nodeArgs: this.deps.workerArgs ?? defaultWorkerArgs(), ...(agent ? { agent } : {}), ...(this.deps.workerNice ? { nice: this.deps.workerNice } : {}) };
  }

  private handlersFor(jobId: string, handle: () => WorkerHandle, adopted: () => boolean = () => true): WorkerHandlers {
    const { log } = this.deps;
    return {
      onEvents: (events, persisted) => this.persist(jobId, events, persisted),
      onSnapshot: (seq, snapshot) => {
        this.deps.eventLog.flush(); // the events the snapshot follows are stored first
        this.pendingSnapshots.set(jobId, { seq, snapshot });
        this.storeSnapshot(jobId);
      },
      onRejected: (m) => log.warn({ jobId, command: m.command, code: m.code }, m.message),
      onExit: (info) => adopted() && this.onWorkerExit(jobId, handle(), info),
      log: (level, message) => log[level]({ jobId }, message),
    };
  }

  /**
   * Stores the job's newest snapshot once the events it follows are stored. While the database
   * refuses writes (storage-state.ts) it waits here, in memory, and goes in after the worker's
   * re-sent events: a snapshot ahead of the stored log would restart the job past events it never kept.
   */
  private storeSnapshot(jobId: string): void {
    const pending = this.pendingSnapshots.get(jobId);
    if (!pending) return;
    const { db, eventLog } = this.deps;
    if (eventLog.isBlocked(jobId) || jobsRepo.getLastSeq(db, jobId) < pending.seq || !db.storage.writable()) return;
    try {
      jobsRepo.setSnapshot(db, jobId, pending.snapshot);
      this.pendingSnapshots.delete(jobId);
    } catch (e) {
      // Kept for the next batch of this job or the storage's recovery; an IPC handler that throws would take the server down.
      if (!isStorageUnavailable(e)) this.deps.log.error({ jobId, err: e }, 'could not store the job snapshot');
    }
  }

  /** Writes work again (storage-watch.ts): workers re-send what was refused, and waiting snapshots follow. */
  storageRecovered(): void {
    for (const jobId of this.deps.eventLog.blockedJobs()) this.resync(jobId);
    for (const jobId of [...this.pendingSnapshots.keys()]) this.storeSnapshot(jobId);
    this.tick();
  }

  private persist(jobId: string, events: SequencedEvent[], persisted: () => void): void {
    this.deps.eventLog.enqueue(jobId, events, (fresh) => {
      persisted();
      this.storeSnapshot(jobId);
      // The first batch after a re-attach is everything the worker held unacknowledged: report what it re-sent.
      if (this.awaitingResend.delete(jobId))
        this.deps.log.info({ jobId, resent: events.length, alreadyStored: events.length - fresh.length }, 'a re-attached worker re-sent its unacknowledged events');
      this.noticeTurnEnds(jobId, fresh);
      if (events.some((e) => e.event.type === 'job_state_changed')) this.tick();
    });
  }

  private onWorkerExit(jobId: string, handle: WorkerHandle, info: { code: number | null; signal: string | null; stderrTail: string }): void {
    this.workers.release(jobId, handle);
    this.deps.eventLog.flush(); // its last events decide whether the job ended or its worker was lost
    const job = jobsRepo.getJob(this.deps.db, jobId);
    if (!job || this.closed) return;
    this.deps.log.info({ jobId, code: info.code, signal: info.signal, state: job.state }, 'worker exited');
    if (isTerminal(job.state) || job.state === 'review') {
      if (handle.parked && job.state === 'review' && !this.worker(jobId)) this.noteParked(jobId);
      this.tick();
      return;
    }
    const how = info.signal ? `was killed (${info.signal})` : info.code === null ? 'disappeared' : `exited with code ${info.code}`;
    this.deps.log.warn({ jobId, tail: info.stderrTail.split('\n').slice(-5).join(' | ') }, `job worker ${how}`);
    void this.recoverLostWorker(job, `The job worker ${how}`, { budget: true, kind: 'crash' })
      .catch((e: unknown) => this.deps.log.error({ jobId, err: e }, 'could not recover the lost worker')) // read-only storage, a vanished repo: never an unhandled rejection
      .finally(() => this.tick());
  }

  /**
   * A resolved job can never run its agent again: drop the agent's private
   * home (jobs/<id>/agent-home: its sessions and the login entries copied
   * into it), so no credential copy outlives the job.
   */
  removeAgentHome(jobId: string): void {
    rmSync(join(jobDirFor(this.deps.paths, jobId), 'agent-home'), { recursive: true, force: true });
  }

  /** Resolves once the job has no live worker (its agent no longer holds the worktree). */
  async workerGone(jobId: string, timeoutMs = 15_000): Promise<void> {
    await this.workers.gone(jobId, timeoutMs);
  }
}
