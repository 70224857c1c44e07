import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Approval, Job } from '../../api/contract.ts';
import { startMockAnthropic, toolResultsOf, type MockAnthropic } from '../fixtures/mock-anthropic.mjs';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { bundledClaude, hasEnvMarker, leftovers, pgrep, realClaudeEnv } from '../helpers/real-claude.ts';

/**
 * The real-CLI tier for Claude: the REAL bundled `claude` binary, driven by CodePlane's real
 * server, worker and Agent SDK, talks to a local mock of the Anthropic Messages API
 * (ANTHROPIC_BASE_URL). The mock asks for the Write tool; CodePlane asks us; we approve; the
 * real CLI writes the file in the job's worktree. No network is used.
 */

const CLAUDE = bundledClaude();

test('the real claude CLI runs a job through CodePlane against a mock Anthropic API', { timeout: 300_000 }, async (t) => {
  if (!CLAUDE) {
    t.skip(`the Claude Agent SDK platform package (@anthropic-ai/claude-agent-sdk-${process.platform}-${process.arch}) is not installed; the real-CLI tier needs it`);
    return;
  }
  const started = Date.now();
  const before = pgrep(CLAUDE);
  const home = mkdtempSync(join(tmpdir(), 'cpl-real-claude-'));
  // HOME, not CODEPLANE_HOME: no CODEPLANE_* variable reaches an agent (machines/agent-env.ts).
  const marker = `HOME=${home}`;
  mkdirSync(join(home, '.claude'), { recursive: true });
  const repo = makeRepo('cpl-real-claude-repo-');
  let mock: MockAnthropic | undefined;
  let server: ServerProcess | undefined;
  let sse: SseClient | undefined;
  t.after(async () => {
    sse?.close();
    await server?.stop();
    await mock?.close();
    const left = await leftovers(CLAUDE, before, marker, 5000);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    rmSync(home, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
    assert.deepEqual(left, [], `claude processes left behind: ${left.join(', ')}`);
  });

  mock = await startMockAnthropic();
  server = await startServerProcess({
    cwd: repo,
    home,
    env: realClaudeEnv(home, mock.url),
  });

  const serverUp = Date.now();
  sse = await SseClient.open(`${server.url}/api/events`);
  const created = await api<Job>(server.url, 'POST', '/api/jobs', {
    repo,
    agent: 'claude',
    model: 'claude-sonnet-4-5',
    prompt: 'Please CREATE_FILE greeting.txt hi from the real claude',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body;

  const requested = await sse.waitFor((e) => e.event === 'approval_requested' && e.data['jobId'] === job.id, 120_000, 'approval_requested');
  const asked = Date.now();
  const approval = requested.data['approval'] as { id: string; kind: string; summary: string };
  assert.equal(approval.kind, 'write');
  assert.match(approval.summary, /greeting\.txt/);
  const running = [...pgrep(CLAUDE)].filter((pid) => !before.has(pid) && hasEnvMarker(pid, marker));
  assert.ok(running.length > 0, 'the real claude is the agent waiting for the answer');
  // It runs in the job's sandbox: another pid namespace than ours (bubblewrap's), its config dir the job's own agent home.
  // (bubblewrap's own process names the binary in its arguments too: the CLI is the one running it.)
  const ownNs = readlinkSync('/proc/self/ns/pid');
  const cli = running.filter((pid) => readlinkSync(`/proc/${pid}/exe`) === realpathSync(CLAUDE));
  assert.ok(cli.length > 0, 'the claude binary runs');
  for (const pid of cli) assert.notEqual(readlinkSync(`/proc/${pid}/ns/pid`), ownNs, `claude ${pid} runs outside the sandbox`);
  assert.ok(running.some((pid) => !cli.includes(pid) && readlinkSync(`/proc/${pid}/exe`).endsWith('/bwrap')), 'bubblewrap holds it');
  assert.ok(readFileSync(`/proc/${cli[0]}/environ`, 'utf8').split('\0').includes(`CLAUDE_CONFIG_DIR=${join(home, 'jobs', job.id, 'agent-home')}`), "the job's own Claude config dir");
  const worktree = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.worktreePath;
  assert.equal(existsSync(join(worktree, 'greeting.txt')), false, 'nothing is written before the approval');

  const answer = await api<Approval>(server.url, 'POST', `/api/approvals/${approval.id}/resolve`, { resolution: 'approved' });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && ['review', 'failed'].includes(String(e.data['to'])), 120_000, 'review');

  const reviewed = Date.now();
  const final = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
  assert.equal(final.state, 'review', `${final.failureReason ?? ''}\n${server.output()}`);
  assert.ok(final.agentSessionId, 'the CLI session id is stored on the job');
  assert.equal(readFileSync(join(final.worktreePath, 'greeting.txt'), 'utf8'), 'hi from the real claude\n');
  assert.equal(existsSync(join(repo, 'greeting.txt')), false, "the user's checkout is untouched");
  assert.equal(git(repo, 'status', '--porcelain'), '');
  assert.equal(git(final.worktreePath, 'status', '--porcelain', '--untracked-files=all'), '?? greeting.txt', 'the CLI leaves nothing else in the worktree');
  assert.ok(readdirSync(join(home, 'jobs', job.id, 'agent-home', 'projects')).length > 0, "the CLI kept its session in the job's agent home");

  // The mock saw the whole loop: the tool_use it sent came back as a successful tool_result.
  const messages = mock.requests.filter((r) => r.kind === 'messages_stream' || r.kind === 'messages');
  const toolUse = messages.map((r) => r.reply).find((r) => r?.type === 'tool_use');
  assert.ok(toolUse?.type === 'tool_use' && toolUse.id, 'the mock asked for a tool');
  assert.equal(toolUse.name, 'Write');
  assert.equal(toolUse.input['file_path'], join(final.worktreePath, 'greeting.txt'), 'the CLI told the model its cwd is the worktree');
  const results = messages.flatMap((r) => toolResultsOf(r.body)).filter((b) => b.tool_use_id === toolUse.id);
  assert.equal(results.length, 1, 'the tool_result reached the model once');
  assert.notEqual(results[0]!.is_error, true, JSON.stringify(results[0]));
  assert.ok(messages.every((r) => r.body?.model === 'claude-sonnet-4-5'), `the job's model reaches the API: ${messages.map((r) => r.body?.model).join(',')}`);
  assert.equal(mock.requests.filter((r) => r.headers['x-api-key'] !== 'test-key' && r.kind !== 'unknown').length, 0);

  const transcript = (await api<{ role: string; text?: string; toolName?: string }[]>(server.url, 'GET', `/api/jobs/${job.id}/transcript`)).body;
  assert.ok(transcript.some((e) => e.role === 'tool_call' && e.toolName === 'Write'), JSON.stringify(transcript));
  assert.ok(transcript.some((e) => e.role === 'tool_result'));
  assert.ok(transcript.some((e) => e.role === 'agent' && e.text?.includes('done')));
  const states = sse.events.filter((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id).map((e) => `${e.data['from']}>${e.data['to']}`);
  assert.deepEqual(states, ['queued>preparing', 'preparing>running', 'running>waiting_for_approval', 'waiting_for_approval>running', 'running>review']);

  t.diagnostic(`mock saw: ${mock.requests.map((r) => `${r.method} ${r.path} [${r.kind}${r.reply ? ` -> ${r.reply.type === 'tool_use' ? `tool_use ${r.reply.name}` : r.reply.type}` : ''}]`).join('; ')}`);
  t.diagnostic(`server up ${serverUp - started} ms, job to approval ${asked - serverUp} ms, approval to review ${reviewed - asked} ms`);
});
