/** Creating and steering jobs over the real HTTP API. */
import type { Job, JobState } from '../../api/contract.ts';
import { api } from './server.ts';
import { waitUntil } from './stats.ts';

/**
 * Spurious git failures seen while creating or preparing jobs. simple-git, as
 * configured by default, may resolve a command with empty stdout when the
 * machine is loaded (it settles 50 ms after the child's `exit`, before stdout
 * is drained: steveukx/git-js#608), which the server reported as
 * INVALID_BRANCH / UNKNOWN_BASE_REF. Fixed in supervisor/git/git-exec.ts (simple-git is no longer used);
 * benchmarks still retry them and report how many there were (should be 0).
 */
export const gitFlakes = { create: 0, prepare: 0 };
/** Workers that did not answer the handshake in time on a loaded machine (the supervisor then kills them). */
export const startFlakes = { workerTimeout: 0 };
const FLAKY = /INVALID_BRANCH|UNKNOWN_BASE_REF/;

export async function createJob(url: string, repo: string, prompt: string): Promise<Job> {
  for (let attempt = 1; ; attempt++) {
    const r = await api<Job>(url, 'POST', '/api/jobs', { repo, prompt, agent: 'claude', permissionMode: 'full_auto' });
    if (r.status === 201) return r.body;
    const text = JSON.stringify(r.body);
    if (r.status === 400 && FLAKY.test(text) && attempt < 4) {
      gitFlakes.create++;
      continue;
    }
    throw new Error(`POST /api/jobs: HTTP ${r.status} ${text}`);
  }
}

/** Creates `count` jobs, `parallel` requests at a time. */
export async function createJobs(url: string, repo: string, count: number, prompt: (i: number) => string, parallel = 5): Promise<Job[]> {
  const jobs: Job[] = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, (_, k) => createJob(url, repo, prompt(i + k))));
    jobs.push(...batch);
  }
  return jobs;
}

/**
 * Creates `count` jobs and waits until all are in `state`. A job whose worktree
 * could not be created because of a spurious git failure (see gitFlakes) is
 * replaced by a new one.
 */
export async function startJobs(url: string, repo: string, count: number, prompt: (i: number) => string, state: JobState, timeoutMs: number): Promise<Job[]> {
  const jobs = await createJobs(url, repo, count, prompt);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await waitForState(url, jobs.map((j) => j.id), state, Math.max(1000, deadline - Date.now()));
      return jobs;
    } catch (e) {
      const m = e instanceof JobFailed ? e : undefined;
      if (!m || gitFlakes.prepare + startFlakes.workerTimeout >= 10) throw e;
      if (/could not create the worktree/.test(m.reason)) gitFlakes.prepare++;
      else if (/before the agent started/.test(m.reason)) startFlakes.workerTimeout++;
      else throw e;
      const i = jobs.findIndex((j) => j.id === m.jobId);
      jobs[i] = await createJob(url, repo, prompt(i));
    }
  }
}

export class JobFailed extends Error {
  constructor(readonly jobId: string, readonly state: string, readonly reason: string) {
    super(`job ${jobId} ${state}: ${reason}`);
  }
}

export async function jobStates(url: string): Promise<Map<string, JobState>> {
  const r = await api<{ items: Job[] }>(url, 'GET', '/api/jobs?limit=200');
  return new Map(r.body.items.map((j) => [j.id, j.state]));
}

/** Waits until every job is in `state`; a job that fails makes it throw (with the reason). */
export async function waitForState(url: string, ids: readonly string[], state: JobState, timeoutMs: number): Promise<void> {
  await waitUntil(
    async () => {
      const states = await jobStates(url);
      for (const id of ids) {
        const s = states.get(id);
        if (s === 'failed' || s === 'canceled') {
          const { body } = await api<Job>(url, 'GET', `/api/jobs/${id}`);
          throw new JobFailed(id, s, body.failureReason ?? '?');
        }
      }
      return ids.every((id) => states.get(id) === state);
    },
    timeoutMs,
    `${ids.length} job(s) to reach ${state}`,
    200,
  );
}

/** Busy-server refusals seen (408: the body did not arrive in time, so nothing was done; retried). */
export const busyRefusals = { count: 0 };

export async function sendMessage(url: string, jobId: string, content: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const r = await api(url, 'POST', `/api/jobs/${jobId}/messages`, { content });
    if (r.status === 202) return;
    if (r.status === 408 && attempt < 4) {
      busyRefusals.count++;
      continue;
    }
    throw new Error(`POST messages to ${jobId}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  }
}
