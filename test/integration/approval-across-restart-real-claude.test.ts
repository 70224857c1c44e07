/**
 * The real-CLI tier of "approvals survive a graceful stop": the REAL bundled `claude`, driven by
 * CodePlane's server, worker and Agent SDK, against the local mock Anthropic API. The mock's model
 * asks to run a command (tool_use Bash); CodePlane asks us; the server is stopped (cpl down) while
 * the approval waits, which interrupts the CLI's turn; after cpl up the approval is still pending;
 * we approve; the resumed CLI session receives the decision, the model repeats the same tool_use,
 * and it runs without a second approval: the marker file appears. Rejected instead, the note
 * reaches the model in the resumed conversation and the command never runs.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Approval, Job } from '../../api/contract.ts';
import { lastUserMessage, startMockAnthropic, type MockAnthropic, type Reply } from '../fixtures/mock-anthropic.mjs';
import { cplDown, jobEvents, settled } from '../helpers/approval-restart.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { waitFor, workerPids } from '../helpers/processes.ts';
import { bundledClaude, leftovers, pgrep, realClaudeEnv } from '../helpers/real-claude.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

const CLAUDE = bundledClaude();
const BASH_INPUT = { command: 'touch real-claude-marker.txt', description: 'Create the marker file' };

/** The mock model: asks for the command once; told it was approved, asks for the same call again; after a tool result, done. */
function script(): (ctx: { body: { tools?: { name: string }[] } | undefined }) => Reply | undefined {
  let asked = false;
  return ({ body }) => {
    if (!body?.tools?.some((t) => t.name === 'Bash')) return undefined; // title generation and the like: the default text
    const last = lastUserMessage(body);
    const blocks: { type?: string; text?: string }[] = Array.isArray(last?.content) ? last.content : [{ type: 'text', text: String(last?.content ?? '') }];
    // The newest of: a tool result, and CodePlane's message with the user's decision (it may share a user message with the interrupted call's result).
    const lastResult = blocks.findLastIndex((b) => b.type === 'tool_result');
    const lastDecision = blocks.findLastIndex((b) => b.type === 'text' && /APPROVED:|REJECTED:/.test(b.text ?? ''));
    if (lastDecision > lastResult) {
      return /APPROVED:/.test(blocks[lastDecision]!.text ?? '')
        ? { type: 'tool_use', name: 'Bash', input: BASH_INPUT, text: 'Running it again, as approved.' }
        : { type: 'text', text: `Understood, not running it: ${blocks[lastDecision]!.text ?? ''}` };
    }
    if (lastResult >= 0) return { type: 'text', text: 'done' };
    if (!asked) {
      asked = true;
      return { type: 'tool_use', name: 'Bash', input: BASH_INPUT };
    }
    return { type: 'text', text: 'waiting' };
  };
}

type Answer = { resolution: 'approved' } | { resolution: 'rejected'; note: string };

/** Runs the job to its approval, stops the server with cpl down, starts it again, answers; then checks what must hold for `answer`. */
async function acrossGracefulStop(t: TestContext, answer: Answer): Promise<void> {
  if (!CLAUDE) {
    t.skip('the Claude Agent SDK platform package is not installed; the real-CLI tier needs it');
    return;
  }
  const before = pgrep(CLAUDE);
  const home = mkdtempSync(join(tmpdir(), 'cpl-real-claude-approval-'));
  // HOME, not CODEPLANE_HOME: no CODEPLANE_* variable reaches an agent (machines/agent-env.ts).
  const marker = `HOME=${home}`;
  mkdirSync(join(home, '.claude'), { recursive: true });
  const repo = makeRepo('cpl-real-claude-approval-repo-');
  let mock: MockAnthropic | undefined;
  const servers: ServerProcess[] = [];
  t.after(async () => {
    for (const s of servers) await s.stop();
    await mock?.close();
    const left = await leftovers(CLAUDE, before, marker, 5000);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    rmSync(home, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
    assert.deepEqual(left, [], `claude processes left behind: ${left.join(', ')}`);
  });

  mock = await startMockAnthropic({ script: script() as never });
  const start = async () => {
    const s = await startServerProcess({ cwd: repo, home, env: realClaudeEnv(home, mock!.url) });
    servers.push(s);
    return s;
  };
  const first = await start();
  const sse = await SseClient.open(`${first.url}/api/events`);
  const created = await api<Job>(first.url, 'POST', '/api/jobs', { repo, agent: 'claude', model: 'claude-sonnet-4-5', prompt: 'Create the marker file with touch.', permissionMode: 'review_and_approve' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body;
  const requested = await sse.waitFor((e) => e.event === 'approval_requested' && e.data['jobId'] === job.id, 90_000, 'approval_requested');
  await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'waiting_for_approval', 30_000, 'waiting');
  sse.close();
  const approvalId = (requested.data['approval'] as { id: string; summary: string }).id;
  assert.match((requested.data['approval'] as { summary: string }).summary, /touch real-claude-marker\.txt/);
  const sessionBefore = (await api<Job>(first.url, 'GET', `/api/jobs/${job.id}`)).body.agentSessionId;
  assert.ok(sessionBefore, 'the CLI session id is known');

  await cplDown(first);
  await waitFor(() => workerPids(job.id).length === 0, 30_000, 'the worker checkpointed and exited');
  assert.equal(existsSync(join(job.worktreePath, 'real-claude-marker.txt')), false, 'nothing ran before the answer');

  const second = await start();
  const pending = await api<Approval[]>(second.url, 'GET', `/api/approvals?state=pending&jobId=${job.id}`);
  assert.deepEqual(pending.body.map((a) => a.id), [approvalId], 'the same approval is still pending after the restart');
  assert.equal((await api<Job>(second.url, 'GET', `/api/jobs/${job.id}`)).body.state, 'waiting_for_approval');

  const live = await SseClient.open(`${second.url}/api/events?jobId=${job.id}`);
  const answered = await api<Approval>(second.url, 'POST', `/api/approvals/${approvalId}/resolve`, answer);
  assert.equal(answered.status, 200, JSON.stringify(answered.body));
  // Generous: on a saturated machine the resumed CLI's start and three model rounds took over 90 s.
  const end = await live.waitFor(settled(job.id), 240_000, 'review').catch((e: unknown) => {
    throw new Error(`${String(e)}\nmock saw: ${mock!.requests.map((r) => `${r.kind}${r.reply ? `->${r.reply.type}` : ''}`).join('; ')}\n${second.output()}`);
  });
  live.close();
  assert.equal(end.data['to'], 'review', `${String(end.data['reason'] ?? '')}\n${second.output()}`);

  const after = (await api<Job>(second.url, 'GET', `/api/jobs/${job.id}`)).body;
  assert.equal(after.agentSessionId, sessionBefore, 'the same CLI session was resumed');
  const approvals = await api<Approval[]>(second.url, 'GET', `/api/approvals?jobId=${job.id}`);
  assert.deepEqual(approvals.body.map((a) => [a.id, a.resolution]), [[approvalId, answer.resolution]], 'no second approval was asked');
  const events = await jobEvents(second.url, job.id, settled(job.id));
  assert.deepEqual(events.filter((e) => e.event === 'job_restarted').map((e) => e.data['kind']), ['graceful_stop']);
  const bashCalls = mock.requests.filter((r) => r.reply?.type === 'tool_use' && r.reply.name === 'Bash');
  // The model saw the decision in the resumed conversation (CodePlane's message to the same session).
  const decision = mock.requests.map((r) => JSON.stringify(r.body?.messages ?? [])).find((m) => m.includes(answer.resolution === 'approved' ? 'APPROVED:' : 'REJECTED:'));
  assert.ok(decision, 'the decision reached the model');
  if (answer.resolution === 'approved') {
    assert.ok(existsSync(join(job.worktreePath, 'real-claude-marker.txt')), 'the approved command really ran');
    assert.equal(bashCalls.length, 2, 'asked once before the stop, repeated once after the answer');
  } else {
    assert.ok(decision.includes(answer.note), "the user's note reached the model");
    assert.equal(existsSync(join(job.worktreePath, 'real-claude-marker.txt')), false, 'the rejected command never ran');
    assert.equal(bashCalls.length, 1, 'the model did not ask again');
  }
  t.diagnostic(`mock saw: ${mock.requests.map((r) => `${r.kind}${r.reply ? `->${r.reply.type}` : ''}`).join('; ')}`);
}

test('the real claude: an approval pending across cpl down / cpl up, approved afterwards, really runs the command', { timeout: 480_000 }, (t) => acrossGracefulStop(t, { resolution: 'approved' }));

test('the real claude: rejected after cpl down / cpl up, the note reaches the model and the command never runs', { timeout: 480_000 }, (t) =>
  acrossGracefulStop(t, { resolution: 'rejected', note: 'use the build script instead' }));
