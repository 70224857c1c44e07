import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import type { Approval, Job } from '../../api/contract.ts';
import { startMockAnthropic, toolResultsOf, type MockAnthropic } from '../fixtures/mock-anthropic.mjs';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

/**
 * The real-CLI tier for Claude: the REAL bundled `claude` binary, driven by CodePlane's real
 * server, worker and Agent SDK, talks to a local mock of the Anthropic Messages API
 * (ANTHROPIC_BASE_URL). The mock asks for the Write tool; CodePlane asks us; we approve; the
 * real CLI writes the file in the job's worktree. No network is used.
 */

/** The platform binary the Agent SDK would use (the same candidates, in the same order). */
function bundledClaude(): string | undefined {
  const require = createRequire(import.meta.url);
  const base = `@anthropic-ai/claude-agent-sdk-${process.platform}-${process.arch}`;
  const exe = process.platform === 'win32' ? 'claude.exe' : 'claude';
  for (const pkg of process.platform === 'linux' ? [base, `${base}-musl`] : [base]) {
    try {
      const path = join(dirname(require.resolve(`${pkg}/package.json`)), exe);
      if (existsSync(path)) return path;
    } catch {
      // not installed
    }
  }
  return undefined;
}

/** PIDs of running processes whose command line contains `needle` (what `pgrep -f` does; /proc where there is one). */
function pgrep(needle: string): Set<number> {
  if (existsSync('/proc/self/cmdline')) {
    const pids = new Set<number>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) pids.add(Number(name));
      } catch {
        // exited meanwhile
      }
    }
    return pids;
  }
  try {
    return new Set(execFileSync('pgrep', ['-f', needle], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number));
  } catch {
    return new Set(); // exit 1: none
  }
}

/** Whether `pid` runs with `marker` in its environment; unknown (no /proc) counts as ours. */
function hasEnvMarker(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(marker);
  } catch {
    return !existsSync('/proc'); // gone already on Linux; unknown elsewhere
  }
}

/** New `binary` processes started by this test (marked by env) that are still alive after `ms`. */
async function leftovers(binary: string, before: Set<number>, marker: string, ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive = [...pgrep(binary)].filter((pid) => !before.has(pid) && pid !== process.pid && hasEnvMarker(pid, marker));
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

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
    env: {
      CODEPLANE_CLAUDE_PATH: '', // '' = unset: the SDK's bundled binary
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_API_KEY: 'test-key',
      // No connectivity probe (HEAD /api/hello), telemetry, error reporting, update checks.
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      HOME: home,
      CLAUDE_CONFIG_DIR: join(home, '.claude'),
      // Whatever the developer's shell has must not redirect or re-authenticate the CLI.
      ANTHROPIC_AUTH_TOKEN: undefined,
      ANTHROPIC_MODEL: undefined,
      CLAUDE_CODE_USE_BEDROCK: undefined,
      CLAUDE_CODE_USE_VERTEX: undefined,
      CLAUDE_CODE_OAUTH_TOKEN: undefined,
    },
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
