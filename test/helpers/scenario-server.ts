import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Approval, Job, TranscriptEntry } from '../../api/contract.ts';
import type { LogLine } from '../../api/contract.ts';
import { makeRepo } from './git-repo.ts';
import { agentPids, alive, waitFor, workerPid } from './processes.ts';
import { api, startServerProcess, type ServerProcess } from './server-process.ts';
import { SseClient, type SseEvent } from './sse-client.ts';

/** Hang guards only: a scenario that stalls fails instead of blocking the run. */
export const STEP_MS = 60_000;

export type JobOptions = { model?: string; permissionMode?: 'full_auto' | 'review_and_approve' | 'observe_only' };

/**
 * A real `cpl up` (its workers, the fake agent CLIs) seen the way a client sees it: HTTP plus
 * one SSE stream of every event. Scenario bodies talk to it only through these calls.
 */
export class ScenarioServer {
  private constructor(
    readonly server: ServerProcess,
    readonly repo: string,
    readonly sse: SseClient,
  ) {}

  /** Starts a server on a fresh repository; `env` adds to (or, with undefined, removes from) the server's environment; `config` is its config.json. */
  static async start(env: NodeJS.ProcessEnv = {}, config?: Record<string, unknown>): Promise<ScenarioServer> {
    const repo = makeRepo('cpl-scenario-repo-');
    const home = mkdtempSync(join(tmpdir(), 'cpl-home-'));
    if (config) writeFileSync(join(home, 'config.json'), JSON.stringify(config));
    const server = await startServerProcess({
      cwd: repo,
      home,
      // The developer's own agent configuration and tokens must not steer the fakes.
      env: { COPILOT_HOME: undefined, CLAUDE_CONFIG_DIR: undefined, ...env },
    });
    const sse = await SseClient.open(`${server.url}/api/events`);
    return new ScenarioServer(server, repo, sse);
  }

  get url(): string {
    return this.server.url;
  }

  /** The server's HOME (and CODEPLANE_HOME): where the agents' user-level config lives. */
  get home(): string {
    return this.server.home;
  }

  async stop(): Promise<void> {
    this.sse.close();
    await this.server.stop();
    rmSync(this.repo, { recursive: true, force: true });
    rmSync(this.server.home, { recursive: true, force: true });
  }

  async createJob(agent: string, prompt: string, o: JobOptions = {}): Promise<Job> {
    const res = await api<Job>(this.url, 'POST', '/api/jobs', { repo: this.repo, agent, prompt, permissionMode: o.permissionMode ?? 'full_auto', ...(o.model ? { model: o.model } : {}) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  async job(id: string): Promise<Job> {
    return (await api<Job>(this.url, 'GET', `/api/jobs/${id}`)).body;
  }

  /** The n-th time the job entered `state` (1-based). */
  reached(jobId: string, state: string, nth = 1): Promise<SseEvent> {
    let seen = 0;
    return this.sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === jobId && e.data['to'] === state && ++seen === nth, STEP_MS, `${jobId} → ${state} #${nth}`);
  }

  /** Waits until the job settles in one of `states` (its n-th settling), and returns the state. */
  async settles(jobId: string, states: string[], nth = 1): Promise<string> {
    let seen = 0;
    const e = await this.sse.waitFor(
      (x) => x.event === 'job_state_changed' && x.data['jobId'] === jobId && states.includes(String(x.data['to'])) && ++seen === nth,
      STEP_MS,
      `${jobId} → ${states.join('|')} #${nth}`,
    );
    return String(e.data['to']);
  }

  events(jobId: string, type: string): SseEvent[] {
    return this.sse.events.filter((e) => e.event === type && e.data['jobId'] === jobId);
  }

  waitEvent(jobId: string, type: string, pred: (data: Record<string, unknown>) => boolean = () => true): Promise<SseEvent> {
    return this.sse.waitFor((e) => e.event === type && e.data['jobId'] === jobId && pred(e.data), STEP_MS, `${type} of ${jobId}`);
  }

  transcript(jobId: string): TranscriptEntry[] {
    return this.events(jobId, 'transcript_update').map((e) => e.data['entry'] as TranscriptEntry);
  }

  async approval(jobId: string): Promise<Approval> {
    const e = await this.waitEvent(jobId, 'approval_requested');
    return { ...(e.data['approval'] as Approval), jobId };
  }

  async resolve(approvalId: string, resolution: 'approved' | 'rejected', note?: string): Promise<void> {
    const res = await api(this.url, 'POST', `/api/approvals/${approvalId}/resolve`, { resolution, ...(note ? { note } : {}) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  async post(path: string, body: unknown = {}): Promise<unknown> {
    const res = await api(this.url, 'POST', path, body);
    assert.ok(res.status >= 200 && res.status < 300, `${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async logs(jobId: string): Promise<LogLine[]> {
    return (await api<LogLine[]>(this.url, 'GET', `/api/jobs/${jobId}/logs?limit=5000`)).body;
  }

  /** The pids of every agent CLI the job started (the fakes print theirs on stderr; the adapters log stderr lines). */
  async cliPids(jobId: string, cli: string): Promise<number[]> {
    return agentPids((await this.logs(jobId)).map((l) => l.message), cli);
  }

  /**
   * Cancels the job unless it already ended, then proves that neither its worker nor any CLI it
   * started is left running.
   */
  async finish(jobId: string, cli: string): Promise<void> {
    const worker = workerPid(jobId);
    const { state } = await this.job(jobId);
    if (!['failed', 'canceled', 'completed'].includes(state)) {
      await this.post(`/api/jobs/${jobId}/cancel`);
      await this.settles(jobId, ['canceled', 'failed']);
    }
    await this.assertNothingLeft(jobId, cli, worker);
  }

  async assertNothingLeft(jobId: string, cli: string, worker = workerPid(jobId)): Promise<void> {
    const pids = await this.cliPids(jobId, cli);
    for (const pid of pids) await waitFor(() => !alive(pid), 20_000, `${cli} ${pid} of ${jobId} to exit`);
    if (worker !== undefined) await waitFor(() => !alive(worker), 20_000, `the worker of ${jobId} to exit`);
  }
}
