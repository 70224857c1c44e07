/** Shared by the approval-across-restart tests: a job waiting for approval, stops, and what must hold after them. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Approval, Job } from '../../api/contract.ts';
import { cpl } from './cpl.ts';
import { ROOT, api, startServerProcess, type ServerProcess } from './server-process.ts';
import { SseClient, type SseEvent } from './sse-client.ts';

const FAKE_COPILOT = join(ROOT, 'test/fixtures/fake-copilot');
export const servers: ServerProcess[] = [];
export const start = async (cwd: string, home?: string) => {
  const s = await startServerProcess({ cwd, ...(home ? { home } : {}), env: { CODEPLANE_COPILOT_PATH: FAKE_COPILOT } });
  servers.push(s);
  return s;
};

export type Agent = 'claude' | 'copilot';
export const stateIs = (jobId: string, to: string) => (e: SseEvent) => e.event === 'job_state_changed' && e.data['jobId'] === jobId && e.data['to'] === to;
export const settled = (jobId: string) => (e: SseEvent) => e.event === 'job_state_changed' && e.data['jobId'] === jobId && ['review', 'failed'].includes(String(e.data['to']));

/** A job whose agent asks to run `touch <marker>`, and the approval it is waiting for. */
export async function jobWaitingForApproval(server: ServerProcess, repo: string, agent: Agent, marker: string, promptTail = ''): Promise<{ job: Job; approvalId: string }> {
  const sse = await SseClient.open(`${server.url}/api/events`);
  try {
    const created = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: `[[bash touch ${marker}]]${promptTail}`, agent, permissionMode: 'review_and_approve' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const req = await sse.waitFor((e) => e.event === 'approval_requested' && e.data['jobId'] === created.body.id, 60_000, 'approval_requested');
    // The snapshot the next worker continues from is stored with the state change.
    await sse.waitFor(stateIs(created.body.id, 'waiting_for_approval'), 60_000, 'waiting_for_approval');
    return { job: created.body, approvalId: (req.data['approval'] as { id: string }).id };
  } finally {
    sse.close();
  }
}

/** The server stops the way `cpl down` stops it (SIGTERM: the workers checkpoint) and is gone. */
export async function cplDown(server: ServerProcess): Promise<void> {
  const gone = new Promise((r) => server.child.once('exit', r));
  const down = await cpl(['down'], { CODEPLANE_HOME: server.home });
  assert.equal(down.code, 0, down.out);
  await gone;
}

export const killServer = async (s: ServerProcess) => {
  const gone = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGKILL');
  await gone;
};

/** Every event of the job, from the start. */
export async function jobEvents(url: string, jobId: string, until: (e: SseEvent) => boolean): Promise<SseEvent[]> {
  const all = await SseClient.open(`${url}/api/events?jobId=${jobId}`, 0);
  try {
    await all.waitFor(until, 60_000, 'end of log');
    return all.events;
  } finally {
    all.close();
  }
}

/** After the restart: the same approval still pending, the job still waiting, the restart recorded with it held. */
export async function assertStillPending(server: ServerProcess, job: Job, approvalId: string, kind: string): Promise<void> {
  const pending = await api<Approval[]>(server.url, 'GET', `/api/approvals?state=pending&jobId=${job.id}`);
  assert.deepEqual(pending.body.map((a) => a.id), [approvalId], 'the same approval is still pending');
  const events = await jobEvents(server.url, job.id, (e) => e.event === 'job_restarted');
  const interrupted = await api<Approval[]>(server.url, 'GET', `/api/approvals?state=pending&jobId=${job.id}`);
  assert.equal(typeof interrupted.body[0]!.interruptedAt, 'string', 'once the restart is recorded, the approval says it interrupted the turn that asked');
  const restarted = events.filter((e) => e.event === 'job_restarted');
  assert.equal(restarted.length, 1, JSON.stringify(restarted.map((e) => e.data)));
  assert.equal(restarted[0]!.data['kind'], kind);
  assert.deepEqual(restarted[0]!.data['heldApprovals'], [approvalId]);
  const note = events.filter((e) => e.event === 'transcript_update' && (e.data['entry'] as { role: string }).role === 'system').at(-1);
  assert.match(String((note?.data['entry'] as { text: string }).text), /turn was interrupted while it waited for approval: the approval still waits for your answer/);
  assert.equal((await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.state, 'waiting_for_approval', 'shown as waiting for the approval');
  assert.ok(!events.some((e) => e.event === 'approval_resolved'), 'nothing withdrew it');
}

/** Answers the approval and waits for the job to settle; returns the job's events. */
export async function answer(server: ServerProcess, job: Job, approvalId: string, body: { resolution: 'approved' | 'rejected'; note?: string }): Promise<SseEvent[]> {
  const live = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`);
  try {
    const res = await api<Approval>(server.url, 'POST', `/api/approvals/${approvalId}/resolve`, body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const end = await live.waitFor(settled(job.id), 60_000, 'review');
    assert.equal(end.data['to'], 'review', `${String(end.data['reason'] ?? '')}\n${server.output()}`);
  } finally {
    live.close();
  }
  return jobEvents(server.url, job.id, settled(job.id));
}

export const agentTexts = (events: SseEvent[]) =>
  events.filter((e) => e.event === 'transcript_update' && (e.data['entry'] as { role: string }).role === 'agent').map((e) => String((e.data['entry'] as { text?: string }).text ?? ''));

/** The approved command really ran, in the same agent session, and nothing was asked twice. */
export async function assertApprovedRan(server: ServerProcess, job: Job, approvalId: string, events: SseEvent[], marker: string, sessionBefore: string | undefined): Promise<void> {
  const worktree = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
  assert.ok(existsSync(join(worktree.worktreePath, marker)), `the approved command ran: ${marker} exists`);
  assert.equal(worktree.agentSessionId, sessionBefore, 'the same agent session was resumed');
  const approvals = await api<Approval[]>(server.url, 'GET', `/api/approvals?jobId=${job.id}`);
  assert.deepEqual(approvals.body.map((a) => [a.id, a.resolution]), [[approvalId, 'approved']], 'the repeated call was not asked about again');
  assert.equal(approvals.body[0]!.interruptedAt, undefined, 'answered: no longer waiting on an interrupted turn');
  assert.ok(events.some((e) => e.event === 'log_line' && /allowed without asking again/.test(String(e.data['message']))), 'the one-shot grant let the repeated call through');
  const toolCalls = events.filter((e) => e.event === 'transcript_update' && (e.data['entry'] as { role: string }).role === 'tool_call');
  assert.equal(toolCalls.length, 2, 'asked once, interrupted; repeated once after the answer');
}

