import { conflict, notFound } from '../machines/app-error.ts';
import type { Approval, Job, JobSnapshot, Repo } from '../api/contract.ts';
import type { AuthPort, Ports, PushPort, SharesPort } from '../api/ports.ts';
import type { Db } from './db/database.ts';
import * as approvalsRepo from './db/approvals-repo.ts';
import * as eventsRepo from './db/events-repo.ts';
import * as jobsRepo from './db/jobs-repo.ts';
import * as reposRepo from './db/repos-repo.ts';
import type { EventHub } from './events/event-hub.ts';
import type { EventLog } from './events/event-log.ts';
import { inspectRepo } from './git/repo-info.ts';
import { refuseReservedRepoPath } from './repos/repo-path-guard.ts';
import { newId } from './jobs/ids.ts';
import { planJob } from './jobs/job-creation.ts';
import type { JobSupervisor } from './jobs/job-supervisor.ts';
import type { ReviewService } from './review/review-service.ts';
import type { Paths } from './paths.ts';
import { VERSION } from './version.ts';
import { createAgentsPort } from './agents/agents-port.ts';
import { withDiskUsage, type DiskUsageTracker } from './review/disk-usage-tracker.ts';
import { jobLeaves } from './jobs/job-settle.ts';
import type { JobState } from '../machines/job-spec.ts';

/** The states a cancel takes a job out of, and how long its answer waits for the agent to stop. */
const CANCELABLE: ReadonlySet<JobState> = new Set(['preparing', 'running', 'waiting_for_approval', 'review']);
const CANCEL_ANSWER_WAIT_MS = 10_000;
import type { SandboxGate } from './sandbox/sandbox-gate.ts';

export interface PortDeps {
  review: ReviewService;
  db: Db;
  eventLog: EventLog;
  hub: EventHub;
  supervisor: JobSupervisor;
  paths: Paths;
  /** `performance.now()` at start: uptime is measured on the monotonic clock. */
  startedAt: number;
  auth: AuthPort;
  shares: SharesPort;
  push: PushPort;
  diskUsage: DiskUsageTracker;
  /** Refuses to start agents where the sandbox cannot be built (unless the user turned it off). */
  sandbox: SandboxGate;
  /** Log lines a full disk made the server drop (machines/log-file.ts). */
  logLinesDropped?: () => number;
}

const ACTIVE_STATES = ['preparing', 'running', 'waiting_for_approval'] as const;
/** How long GET /api/jobs/:id waits for a disk-usage walk before answering with the last figure. */
const DISK_USAGE_WAIT_MS = 300;

/** The supervisor side of api/ports.ts: translate API calls into storage reads and supervisor commands. */
export function createPorts(d: PortDeps): Ports & { registerIfRepo(path: string): Promise<Repo | undefined> } {
  const { db } = d;
  /** Jobs run by this server say so when its agents run without the sandbox. */
  const marked = (job: Job): Job => (d.sandbox.sandboxed ? job : { ...job, unsandboxed: true });
  const mustGet = (id: string): Job => {
    const job = jobsRepo.getJob(db, id);
    if (!job) throw notFound('JOB_NOT_FOUND', `no job ${id}`);
    return marked(job);
  };
  const addRepo = async (path: string): Promise<Repo> => {
    const info = await inspectRepo(path);
    await refuseReservedRepoPath([info.given, info.path], { home: d.paths.home, worktrees: d.paths.worktrees, jobWorktrees: reposRepo.jobWorktreePaths(db) });
    const existing = reposRepo.findRepo(db, info.path);
    if (existing) return existing;
    return reposRepo.insertRepo(db, { id: newId('r'), path: info.path, name: info.name, defaultBranch: info.defaultBranch, createdAt: new Date().toISOString() });
  };

  return {
    auth: d.auth,
    shares: d.shares,
    push: d.push,
    agents: createAgentsPort({ configFile: d.paths.config }),
    // Reads only (never a write, which a locked or full database would refuse or make wait).
    health: () => {
      const counts = jobsRepo.countByState(db);
      const storage = db.storage.current();
      return {
        status: storage.state === 'ok' ? 'ok' : 'degraded',
        version: VERSION,
        uptimeSeconds: Math.round((performance.now() - d.startedAt) / 1000),
        activeJobs: ACTIVE_STATES.reduce((n, s) => n + counts[s], 0),
        queuedJobs: counts.queued,
        storage: { ...storage, logLinesDropped: d.logLinesDropped?.() ?? 0 },
      };
    },
    registerIfRepo: (path) => addRepo(path).catch(() => undefined),
    repos: {
      list: () => reposRepo.listRepos(db),
      add: addRepo,
      remove: (id) => {
        const r = reposRepo.deleteRepo(db, id);
        if (!r.ok) throw r.code === 'REPO_NOT_FOUND' ? notFound(r.code, `no repository ${id}`) : conflict(r.code, 'the repository has active jobs; finish or cancel them first');
      },
    },
    jobs: {
      create: async (input) => {
        await d.sandbox.require();
        const repo = reposRepo.findRepo(db, input.repo);
        const plan = await planJob(input, repo, d.paths.worktrees, (branch) => jobsRepo.branchInUse(db, repo?.id ?? '', branch));
        const now = new Date().toISOString();
        jobsRepo.insertJob(db, { ...plan, createdAt: now });
        d.eventLog.append(plan.id, [{ seq: 1, ts: now, event: { type: 'job_created', title: plan.title, agent: plan.agent, repoId: plan.repoId } }]);
        d.supervisor.tick();
        return mustGet(plan.id);
      },
      list: (q) => {
        const page = jobsRepo.listJobs(db, q);
        return { ...page, items: page.items.map((j) => withDiskUsage(marked(j), d.diskUsage.peek(j.id))) };
      },
      get: (id) => withDiskUsage(mustGet(id), d.diskUsage.peek(id)),
      detail: async (id) => {
        const job = mustGet(id);
        // A big worktree takes a while to walk: wait a moment for a fresh figure, else answer with the last one
        // (the walk goes on and the next request has it).
        const measured = d.diskUsage.measure(job);
        const usage = await Promise.race([measured, new Promise<undefined>((r) => setTimeout(r, DISK_USAGE_WAIT_MS))]);
        return withDiskUsage(job, usage ?? d.diskUsage.peek(id));
      },
      snapshot: (id): JobSnapshot => {
        const job = mustGet(id);
        const transcript = eventsRepo.transcript(db, id, { limit: 500 }).reverse();
        const pendingApprovals: Approval[] = approvalsRepo.listApprovals(db, { state: 'pending', jobId: id });
        const streaming = ACTIVE_STATES.some((s) => s === job.state) ? eventsRepo.inFlightText(db, id) : '';
        return {
          job: withDiskUsage(job, d.diskUsage.peek(id)),
          transcript,
          pendingApprovals,
          diff: d.review.summary(id),
          alarms: eventsRepo.ofType(db, id, 'containment_alarm', 50).flatMap((e) => (e.event.type === 'containment_alarm' ? [{ seq: e.seq, ts: e.ts, message: e.event.message, changes: e.event.changes, ...(e.event.omitted ? { omitted: e.event.omitted } : {}) }] : [])),
          lastEventId: d.eventLog.lastEventId(),
          ...(streaming ? { streaming } : {}),
        };
      },
      transcript: (id, q) => {
        mustGet(id);
        return eventsRepo.transcript(db, id, q);
      },
      logs: (id, q) => {
        mustGet(id);
        return eventsRepo.logLines(db, id, q);
      },
      sendMessage: async (id, content) => {
        const job = mustGet(id);
        if (!['running', 'waiting_for_approval', 'review'].includes(job.state)) throw conflict('INVALID_STATE', `cannot send a message to a job that is ${job.state}`);
        await d.sandbox.require(); // a message may start a new worker (a job idle in review)
        // In review the message starts a new turn (the ref guard records the refs first); otherwise it joins the running one.
        if (mustGet(id).state === 'review') await d.supervisor.turnInReview(id, (w) => w.send({ type: 'follow_up', content }));
        else (await d.supervisor.ensureWorker(id)).send({ type: 'follow_up', content });
      },
      // Answers with the state the job goes to: a live worker stops its agent first (bounded wait).
      cancel: async (id) => {
        const job = await d.supervisor.cancel(id);
        return CANCELABLE.has(job.state) ? jobLeaves(d.hub, id, CANCELABLE, () => mustGet(id), CANCEL_ANSWER_WAIT_MS) : job;
      },
      resume: async (id, instruction) => {
        await d.sandbox.require();
        return marked(await d.supervisor.resume(id, instruction));
      },
    },
    approvals: {
      list: (q) => approvalsRepo.listApprovals(db, q),
      resolve: (id, answer) => {
        const r = approvalsRepo.resolveApproval(db, id, { ...answer, resolvedAt: new Date().toISOString() });
        if (!r.ok) throw r.code === 'APPROVAL_NOT_FOUND' ? notFound(r.code, `no approval ${id}`) : conflict(r.code, 'this approval was already answered');
        const w = d.supervisor.worker(r.approval.jobId);
        w?.send({ type: 'approval_decision', approvalId: id, resolution: answer.resolution, ...(answer.note !== undefined ? { note: answer.note } : {}) });
        return r.approval;
      },
    },
    review: {
      diff: (id, q) => {
        mustGet(id);
        return d.review.diff(id, q);
      },
      resolve: (id, action, opts) => {
        // Merge, PR and discard act on git first and record after: with a database that refuses the record,
        // a discard would delete the worktree of a job still shown in review. Refused before anything happens.
        if (!db.storage.writable()) throw db.storage.unavailable();
        return d.review.resolve(id, action, opts);
      },
    },
    events: {
      readAfter: (afterId, q) => d.eventLog.readAfter(afterId, q),
      readRawAfter: (afterId, q) => d.eventLog.readRawAfter(afterId, q),
      lastEventId: () => d.eventLog.lastEventId(),
      subscribe: (filter, listener) => d.hub.subscribe(filter, listener),
    },
  };
}
