import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import type { Approval, Job } from '../../api/contract.ts';
import type { TurnOutcome } from '../../workers/agents/adapter.ts';
import { createCopilotAdapter } from '../../workers/agents/copilot.ts';
import { startMockAnthropic, toolResultsOf, type MockAnthropic } from '../fixtures/mock-anthropic.mjs';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { hasEnvMarker, leftovers, pgrep } from '../helpers/real-claude.ts';

/**
 * The real-CLI tier for Copilot: the REAL bundled Copilot runtime, driven by CodePlane's real
 * server, worker and Copilot SDK, with a BYOK `anthropic` provider (CODEPLANE_COPILOT_PROVIDER)
 * pointing at a local mock of the Anthropic Messages API. The mock asks for the runtime's
 * file-creation tool; CodePlane asks us; we approve; the runtime writes the file in the job's
 * worktree. No network and no GitHub login are used.
 */

/** The runtime the Copilot SDK would use: prebuilds/<platform>/copilot-runtime of its platform package. */
function bundledCopilotRuntime(): string | undefined {
  if (process.arch !== 'x64' && process.arch !== 'arm64') return undefined;
  const musl = process.platform === 'linux' && (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime === undefined;
  const platform = `${process.platform === 'linux' && musl ? 'linuxmusl' : process.platform}-${process.arch}`;
  const exe = process.platform === 'win32' ? 'copilot-runtime.exe' : 'copilot-runtime';
  try {
    const root = dirname(createRequire(import.meta.url).resolve(`@github/copilot-sdk-${platform}/package.json`));
    const path = join(root, 'prebuilds', platform, exe);
    return existsSync(path) && existsSync(join(root, 'prebuilds', platform, 'runtime.node')) ? path : undefined;
  } catch {
    return undefined; // not installed
  }
}

const RUNTIME = bundledCopilotRuntime();

test('the real Copilot runtime runs a job through CodePlane with a BYOK provider at a mock Anthropic API', { timeout: 300_000 }, async (t) => {
  if (!RUNTIME) {
    t.skip(`the Copilot SDK platform package (@github/copilot-sdk-${process.platform}-${process.arch}) is not installed; the real-CLI tier needs it`);
    return;
  }
  const started = Date.now();
  const before = pgrep(RUNTIME);
  const home = mkdtempSync(join(tmpdir(), 'cpl-real-copilot-'));
  // HOME, not CODEPLANE_HOME: no CODEPLANE_* variable reaches an agent (machines/agent-env.ts).
  const marker = `HOME=${home}`;
  const copilotHome = join(home, '.copilot');
  mkdirSync(copilotHome, { recursive: true });
  // The user's own Copilot home: the real runtime starts these MCP servers in every session it runs there.
  const mcpMarker = join(home, 'user-mcp-server-started');
  writeFileSync(join(copilotHome, 'mcp-config.json'), JSON.stringify({ mcpServers: { mine: { type: 'local', command: '/bin/sh', args: ['-c', `echo started > '${mcpMarker}'`], tools: ['*'] } } }));
  const repo = makeRepo('cpl-real-copilot-repo-');
  let mock: MockAnthropic | undefined;
  let server: ServerProcess | undefined;
  let sse: SseClient | undefined;
  t.after(async () => {
    sse?.close();
    await server?.stop();
    await mock?.close();
    const left = await leftovers(RUNTIME, before, marker, 5000);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    rmSync(home, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
    assert.deepEqual(left, [], `Copilot runtime processes left behind: ${left.join(', ')}`);
  });

  mock = await startMockAnthropic();
  server = await startServerProcess({
    cwd: repo,
    home,
    env: {
      CODEPLANE_COPILOT_PATH: '', // '' = unset: the SDK's bundled runtime
      CODEPLANE_COPILOT_PROVIDER: JSON.stringify({ type: 'anthropic', baseUrl: mock.url, apiKey: 'test-key' }),
      COPILOT_HOME: copilotHome,
      HOME: home,
      // Whatever the developer's shell has must not log the runtime in or redirect it.
      GH_TOKEN: undefined,
      GITHUB_TOKEN: undefined,
      COPILOT_GITHUB_TOKEN: undefined,
      COPILOT_MODEL: undefined,
      COPILOT_PROVIDER_BASE_URL: undefined,
      COPILOT_PROVIDER_API_KEY: undefined,
      COPILOT_PROVIDER_BEARER_TOKEN: undefined,
    },
  });

  const serverUp = Date.now();
  sse = await SseClient.open(`${server.url}/api/events`);
  const created = await api<Job>(server.url, 'POST', '/api/jobs', {
    repo,
    agent: 'copilot',
    model: 'claude-sonnet-4-5',
    prompt: 'Please CREATE_FILE greeting.txt hi from the real copilot',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body;

  const requested = await sse.waitFor((e) => e.event === 'approval_requested' && e.data['jobId'] === job.id, 120_000, 'approval_requested');
  const asked = Date.now();
  const approval = requested.data['approval'] as { id: string; kind: string; summary: string };
  assert.equal(approval.kind, 'write');
  assert.match(approval.summary, /greeting\.txt/);
  const running = [...pgrep(RUNTIME)].filter((pid) => !before.has(pid) && hasEnvMarker(pid, marker));
  assert.ok(running.length > 0, 'the real Copilot runtime is the agent waiting for the answer');
  // In the job's sandbox: bubblewrap (the SDK spawned the launcher, which exec'd it) holds the runtime in another pid namespace.
  const ownNs = readlinkSync('/proc/self/ns/pid');
  const holders = running.filter((pid) => readlinkSync(`/proc/${pid}/exe`).endsWith('/bwrap'));
  assert.ok(holders.length > 0, 'bubblewrap holds the runtime');
  const inside = running.filter((pid) => !holders.includes(pid));
  assert.ok(inside.length > 0 && inside.every((pid) => readlinkSync(`/proc/${pid}/ns/pid`) !== ownNs), 'the runtime runs in another pid namespace');
  for (const pid of running) {
    const environ = existsSync('/proc') ? readFileSync(`/proc/${pid}/environ`, 'utf8') : '';
    assert.ok(!environ.includes('CODEPLANE_COPILOT_PROVIDER='), 'the provider key is not in the runtime environment');
  }
  const worktree = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.worktreePath;
  assert.equal(existsSync(join(worktree, 'greeting.txt')), false, 'nothing is written before the approval');

  const answer = await api<Approval>(server.url, 'POST', `/api/approvals/${approval.id}/resolve`, { resolution: 'approved' });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && ['review', 'failed'].includes(String(e.data['to'])), 120_000, 'review');

  const reviewed = Date.now();
  const final = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
  assert.equal(final.state, 'review', `${final.failureReason ?? ''}\n${server.output()}`);
  assert.ok(final.agentSessionId, 'the runtime session id is stored on the job');
  assert.ok(existsSync(join(home, 'jobs', job.id, 'agent-home', 'session-state', final.agentSessionId)), "the session lives in the job's own Copilot home");
  assert.equal(existsSync(join(copilotHome, 'session-state')), false, "nothing of the job in the user's Copilot home");
  assert.equal(existsSync(mcpMarker), false, "the user's MCP servers were not started for the job");
  assert.equal(readFileSync(join(final.worktreePath, 'greeting.txt'), 'utf8'), 'hi from the real copilot\n');
  assert.equal(existsSync(join(repo, 'greeting.txt')), false, "the user's checkout is untouched");
  assert.equal(git(repo, 'status', '--porcelain'), '');
  assert.equal(git(final.worktreePath, 'status', '--porcelain', '--untracked-files=all'), '?? greeting.txt', 'the CLI leaves nothing else in the worktree');

  // The mock saw the whole loop: the tool_use it sent came back as a successful tool_result.
  const messages = mock.requests.filter((r) => r.kind === 'messages_stream' || r.kind === 'messages');
  const toolUse = messages.map((r) => r.reply).find((r) => r?.type === 'tool_use');
  assert.ok(toolUse?.type === 'tool_use' && toolUse.id, `the mock asked for a tool; tools offered: ${messages[0]?.body?.tools?.map((x) => x.name).join(',')}`);
  assert.equal(toolUse.name, 'create');
  assert.equal(toolUse.input['path'], join(final.worktreePath, 'greeting.txt'), 'the runtime told the model its cwd is the worktree');
  const results = messages.flatMap((r) => toolResultsOf(r.body)).filter((b) => b.tool_use_id === toolUse.id);
  assert.equal(results.length, 1, 'the tool_result reached the model once');
  assert.notEqual(results[0]!.is_error, true, JSON.stringify(results[0]));
  assert.ok(messages.every((r) => r.body?.model === 'claude-sonnet-4-5'), `the job's model reaches the provider: ${messages.map((r) => r.body?.model).join(',')}`);
  assert.ok(mock.requests.every((r) => r.headers['x-api-key'] === 'test-key'), 'the provider apiKey is sent');

  const transcript = (await api<{ role: string; text?: string; toolName?: string }[]>(server.url, 'GET', `/api/jobs/${job.id}/transcript`)).body;
  // The runtime streams the call (assistant.tool_call_delta) before it runs it: the transcript still shows it once.
  assert.equal(transcript.filter((e) => e.role === 'tool_call' && e.toolName === 'create').length, 1, JSON.stringify(transcript));
  assert.equal(transcript.filter((e) => e.role === 'tool_result').length, 1);
  assert.ok(transcript.some((e) => e.role === 'agent' && e.text?.includes('done')));
  const states = sse.events.filter((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id).map((e) => `${e.data['from']}>${e.data['to']}`);
  assert.deepEqual(states, ['queued>preparing', 'preparing>running', 'running>waiting_for_approval', 'waiting_for_approval>running', 'running>review']);

  t.diagnostic(`mock saw: ${mock.requests.map((r) => `${r.method} ${r.path} [${r.kind}${r.reply ? ` -> ${r.reply.type === 'tool_use' ? `tool_use ${r.reply.name}` : r.reply.type}` : ''}]`).join('; ')}`);
  t.diagnostic(`server up ${serverUp - started} ms, job to approval ${asked - serverUp} ms, approval to review ${reviewed - asked} ms`);
});

test('an invalid CODEPLANE_COPILOT_PROVIDER fails the turn with a clear reason, without starting a runtime', async () => {
  const worktree = mkdtempSync(join(tmpdir(), 'cpl-copilot-provider-'));
  try {
    const attempt = async (value: string): Promise<{ outcome: TurnOutcome; sessions: number }> => {
      let sessions = 0;
      const outcome = await new Promise<TurnOutcome>((resolve) => {
        const session = createCopilotAdapter({ closeGraceMs: 500 }).start({
          spec: { jobId: 'job-1', repoPath: worktree, worktreePath: worktree, branch: 'cpl/job-1', baseRef: 'main', agent: 'copilot',
            model: 'claude-sonnet-4-5', prompt: 'hi', permissionMode: 'review_and_approve' },
          env: { PATH: process.env['PATH'], HOME: worktree, CODEPLANE_COPILOT_PROVIDER: value },
          callbacks: {
            transcript: () => undefined,
            telemetry: () => undefined,
            log: () => undefined,
            activity: () => undefined,
            sessionStarted: () => void sessions++,
            requestPermission: async () => ({ behavior: 'deny', message: 'no' }),
            turnEnded: (o) => void session.close().then(() => resolve(o)),
          },
        });
      });
      return { outcome, sessions };
    };

    const bad = await attempt('{"type":"anthropic","apiKey":"sk-secret-123",');
    assert.equal(bad.outcome.ok, false);
    assert.ok(!bad.outcome.ok && !bad.outcome.crashed, 'a configuration error, not a crash to restart');
    assert.match(!bad.outcome.ok ? bad.outcome.reason : '', /^CODEPLANE_COPILOT_PROVIDER is not valid JSON/);
    assert.doesNotMatch(!bad.outcome.ok ? bad.outcome.reason : '', /sk-secret/, 'the reason never echoes the value');
    assert.equal(bad.sessions, 0);

    const noUrl = await attempt('{"type":"anthropic","baseUrl":"ftp://x","apiKey":"sk-secret-123"}');
    assert.match(!noUrl.outcome.ok ? noUrl.outcome.reason : '', /CODEPLANE_COPILOT_PROVIDER is not a valid provider: baseUrl: expected an http\(s\) URL/);
    const badType = await attempt('{"type":"gemini","baseUrl":"http://127.0.0.1:1"}');
    assert.match(!badType.outcome.ok ? badType.outcome.reason : '', /type: expected one of "openai", "azure", "anthropic"/);
  } finally {
    rmSync(worktree, { recursive: true, force: true });
  }
});
