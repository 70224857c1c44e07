import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentId, Job, TranscriptEntry } from '../../api/contract.ts';
import { alive, pidsByCommandLine, waitFor, workerPid } from './processes.ts';
import type { ScenarioServer } from './scenario-server.ts';

/**
 * The issue-3 scenario suite: every scenario runs, with the same assertions, against each agent
 * through the real server, its worker processes and the protocol-faithful fake CLIs. What
 * legitimately differs between the agents (where the CLI keeps sessions, whether it reports a
 * cost in dollars, how user config would leak) is data in `AGENTS`, never a branch in a scenario.
 */
export interface AgentUnderTest {
  id: AgentId;
  /** The fake CLI's name as it announces itself on stderr ("<cli> started pid=N"). */
  cli: string;
  /** A model that is not the CLI's default, so seeing it proves it was passed on. */
  model: string;
  /** The CLI reports dollars (Claude's total_cost_usd); Copilot's usage cost is a billing multiplier. */
  reportsCostUsd: boolean;
  /** Where the job's agent sessions are stored, to make them vanish. */
  sessionStore(h: ScenarioServer, job: Job): string;
  /**
   * Writes the user's own agent config into the server's HOME such that a job which loaded it
   * would skip the approval for `touch …` or start a process of the user's; returns a check
   * that removes it and lists the evidence of a leak (or of a lost login) in the job.
   */
  seedUserConfig(home: string): (h: ScenarioServer, job: Job) => string[];
}

export const AGENTS: AgentUnderTest[] = [
  {
    id: 'claude',
    cli: 'fake-claude',
    model: 'claude-opus-4-1',
    reportsCostUsd: true,
    // Sandboxed, the CLI's config dir is the job's own agent home (CLAUDE_CONFIG_DIR); the user's ~/.claude is hidden.
    sessionStore: (h, job) => join(h.home, 'jobs', job.id, 'agent-home', 'projects'),
    seedUserConfig(home) {
      const file = join(home, '.claude', 'settings.json');
      mkdirSync(join(home, '.claude'), { recursive: true });
      writeFileSync(file, JSON.stringify({ permissions: { allow: ['Bash(touch:*)'] } }));
      return () => {
        rmSync(file, { force: true });
        return []; // a leak shows as the approval that is never asked
      };
    },
  },
  {
    id: 'copilot',
    cli: 'fake-copilot',
    model: 'gpt-5',
    reportsCostUsd: false,
    // Without the user's opt-in each job has its own COPILOT_HOME under the job's data directory.
    sessionStore: (h, job) => join(h.home, 'jobs', job.id, 'agent-home', 'session-state'),
    seedUserConfig(home) {
      const dir = join(home, '.copilot');
      const marker = join(home, 'user-mcp-server-started');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'mcp-config.json'), JSON.stringify({ mcpServers: { mine: { type: 'local', command: '/bin/sh', args: ['-c', `echo started > '${marker}'`], tools: ['*'] } } }));
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ lastLoggedInUser: { host: 'https://github.com', login: 'octo' }, trustedFolders: ['/'] }));
      return (h, job) => {
        const evidence = existsSync(marker) ? ["the user's MCP server was started by the job"] : [];
        // The job's own config keeps the login (so a `copilot login` still works) and nothing else.
        const own = join(h.home, 'jobs', job.id, 'agent-home', 'config.json');
        const copied = existsSync(own) ? (JSON.parse(readFileSync(own, 'utf8')) as Record<string, unknown>) : {};
        if (!('lastLoggedInUser' in copied)) evidence.push(`the login was not carried into ${own}`);
        if ('trustedFolders' in copied) evidence.push(`trustedFolders was copied into ${own}`);
        rmSync(marker, { force: true });
        rmSync(join(dir, 'mcp-config.json'), { force: true });
        rmSync(join(dir, 'config.json'), { force: true });
        return evidence;
      };
    },
  },
];

export interface Scenario {
  name: string;
  /** Which server runs it: the main one, or one whose agent CLIs cannot start. */
  server?: 'main' | 'bad-path' | 'exits-at-once' | 'short-tool-limit' | 'idle-park';
  run(h: ScenarioServer, a: AgentUnderTest): Promise<void>;
}

/** Settings of the main server the scenarios rely on. */
export const MAIN_WATCHDOG_MS = 4000;
export const MAIN_TOOL_WATCHDOG_MS = 60_000;
export const SHORT_WATCHDOG_MS = 3000;
export const SHORT_TOOL_WATCHDOG_MS = 5000;

const entries = (h: ScenarioServer, job: Job, role: TranscriptEntry['role']): TranscriptEntry[] => h.transcript(job.id).filter((e) => e.role === role);
export const texts = (h: ScenarioServer, job: Job, role: TranscriptEntry['role']): string[] => entries(h, job, role).map((e) => e.text ?? '');

/** The tool call appears once, with its input, then once its result with a duration and the outcome. */
function assertOneToolCall(h: ScenarioServer, job: Job, inputIncludes: string, success: boolean): TranscriptEntry {
  const calls = entries(h, job, 'tool_call');
  assert.equal(calls.length, 1, `one tool_call: ${JSON.stringify(calls)}`);
  const call = calls[0]!;
  assert.ok(call.toolCallId, 'the call has an id');
  assert.match(JSON.stringify(call.toolInput), new RegExp(inputIncludes), 'the call carries its complete input');
  const results = entries(h, job, 'tool_result');
  assert.equal(results.length, 1, `one tool_result: ${JSON.stringify(results)}`);
  const result = results[0]!;
  assert.equal(result.toolCallId, call.toolCallId);
  assert.ok(result.seq > call.seq, 'the result follows the call');
  assert.equal(result.toolSuccess, success);
  assert.equal(typeof result.durationMs, 'number');
  assert.ok((result.durationMs ?? -1) >= 0);
  return result;
}

async function worktreeOf(h: ScenarioServer, job: Job): Promise<string> {
  return (await h.job(job.id)).worktreePath;
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'tool + approve: the approval is asked, the tool runs once approved, the call shows once with its result',
    async run(h, a) {
      const job = await h.createJob(a.id, '[[bash touch approved.txt]]', { permissionMode: 'review_and_approve' });
      const approval = await h.approval(job.id);
      assert.equal(approval.kind, 'shell');
      assert.equal(approval.summary, 'touch approved.txt');
      await h.reached(job.id, 'waiting_for_approval');
      const wt = await worktreeOf(h, job);
      assert.equal(existsSync(join(wt, 'approved.txt')), false, 'nothing runs before the answer');
      await h.resolve(approval.id, 'approved');
      assert.equal(await h.settles(job.id, ['review', 'failed']), 'review');
      assert.equal(existsSync(join(wt, 'approved.txt')), true);
      assertOneToolCall(h, job, 'touch approved\\.txt', true);
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'tool + reject: the tool does not run, the agent continues, and the note reaches it as feedback',
    async run(h, a) {
      const job = await h.createJob(a.id, '[[bash touch rejected.txt]]', { permissionMode: 'review_and_approve' });
      const approval = await h.approval(job.id);
      await h.resolve(approval.id, 'rejected', 'use the Makefile instead');
      assert.equal(await h.settles(job.id, ['review', 'failed']), 'review', 'a rejection is not a failure');
      assert.equal(existsSync(join(await worktreeOf(h, job), 'rejected.txt')), false);
      const result = assertOneToolCall(h, job, 'touch rejected\\.txt', false);
      assert.match(result.toolOutput ?? '', /use the Makefile instead/, 'the tool result carries the note');
      assert.ok(texts(h, job, 'agent').some((t) => t.includes('use the Makefile instead')), 'the agent answered the note');
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'follow-up: a message in review continues the same session in the same CLI process',
    async run(h, a) {
      const job = await h.createJob(a.id, 'first');
      await h.reached(job.id, 'review');
      const before = await h.job(job.id);
      await h.post(`/api/jobs/${job.id}/messages`, { content: 'second' });
      await h.reached(job.id, 'review', 2);
      assert.ok(texts(h, job, 'agent').includes('echo: second'), JSON.stringify(texts(h, job, 'agent')));
      assert.ok(texts(h, job, 'operator').includes('second'));
      assert.equal((await h.job(job.id)).agentSessionId, before.agentSessionId, 'same agent session');
      assert.equal((await h.cliPids(job.id, a.cli)).length, 1, 'one CLI process for both turns');
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'interrupt while streaming: the job stops mid-stream and no CLI process is left',
    async run(h, a) {
      const job = await h.createJob(a.id, '[[slow 300]]');
      await h.waitEvent(job.id, 'transcript_update', (d) => (d['entry'] as TranscriptEntry).role === 'agent_delta');
      const worker = workerPid(job.id);
      assert.ok(worker, 'the worker runs');
      await h.post(`/api/jobs/${job.id}/cancel`);
      assert.equal(await h.settles(job.id, ['canceled', 'failed']), 'canceled');
      await h.assertNothingLeft(job.id, a.cli, worker);
      assert.ok(texts(h, job, 'agent_delta').join('').split('tick').length < 300, 'the stream stopped early');
      assert.deepEqual(texts(h, job, 'agent'), [], 'the answer was never completed');
    },
  },
  {
    name: 'interrupt while an approval is pending: the approval is withdrawn and no CLI process is left',
    async run(h, a) {
      const job = await h.createJob(a.id, '[[bash touch never.txt]]', { permissionMode: 'review_and_approve' });
      const approval = await h.approval(job.id);
      const worker = workerPid(job.id);
      await h.post(`/api/jobs/${job.id}/cancel`);
      assert.equal(await h.settles(job.id, ['canceled', 'failed']), 'canceled');
      const withdrawn = await h.waitEvent(job.id, 'approval_resolved', (d) => d['approvalId'] === approval.id);
      assert.equal(withdrawn.data['resolution'], 'rejected');
      assert.match(String(withdrawn.data['note']), /withdrawn/);
      const pending = await h.post(`/api/approvals/${approval.id}/resolve`, { resolution: 'approved' }).then(() => 'answered', () => 'refused');
      assert.equal(pending, 'refused', 'a withdrawn approval cannot be answered');
      await h.assertNothingLeft(job.id, a.cli, worker);
      assert.equal(existsSync(join(await worktreeOf(h, job), 'never.txt')), false);
    },
  },
  {
    name: 'crash mid-turn: the job fails with the CLI exit and its stderr tail, also in the log',
    async run(h, a) {
      const job = await h.createJob(a.id, '[[think weighing it]] [[crash]]');
      assert.equal(await h.settles(job.id, ['failed', 'review']), 'failed');
      const { failureReason } = await h.job(job.id);
      assert.match(failureReason ?? '', /code 3/, failureReason);
      assert.match(failureReason ?? '', /panic: simulated crash/, failureReason);
      const logLines = h.events(job.id, 'log_line').map((e) => e.data);
      assert.ok(logLines.some((l) => l['level'] === 'warn' && String(l['message']).includes('panic: simulated crash')), JSON.stringify(logLines));
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'error result: the job fails with the message the agent reported',
    async run(h, a) {
      const job = await h.createJob(a.id, '[[error]]');
      assert.equal(await h.settles(job.id, ['failed', 'review']), 'failed');
      assert.equal((await h.job(job.id)).failureReason, 'simulated failure');
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'startup failure, bad CLI path: the job fails saying which CLI could not start',
    server: 'bad-path',
    async run(h, a) {
      const job = await h.createJob(a.id, 'hello');
      assert.equal(await h.settles(job.id, ['failed', 'review']), 'failed');
      const { failureReason } = await h.job(job.id);
      assert.match(failureReason ?? '', new RegExp(`/nonexistent/${a.id}`), failureReason);
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'startup failure, the CLI exits at once: the job fails with its exit code and stderr',
    server: 'exits-at-once',
    async run(h, a) {
      const job = await h.createJob(a.id, 'hello');
      assert.equal(await h.settles(job.id, ['failed', 'review']), 'failed');
      const { failureReason, agentSessionId } = await h.job(job.id);
      assert.match(failureReason ?? '', /code 2/, failureReason);
      assert.match(failureReason ?? '', /simulated startup failure/, failureReason);
      assert.equal(agentSessionId, undefined, 'no session was started');
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'hang: the watchdog interrupts a silent CLI, the job fails with a readable reason, nothing is left',
    async run(h, a) {
      const job = await h.createJob(a.id, 'think hard [[hang]]');
      await h.reached(job.id, 'running');
      const worker = workerPid(job.id);
      assert.equal(await h.settles(job.id, ['failed', 'review']), 'failed');
      assert.equal((await h.job(job.id)).failureReason, `the agent produced no output for ${MAIN_WATCHDOG_MS / 1000} s; interrupted`);
      assert.ok(h.events(job.id, 'log_line').some((e) => e.data['level'] === 'warn' && String(e.data['message']).startsWith('watchdog:')));
      await h.assertNothingLeft(job.id, a.cli, worker);
    },
  },
  {
    name: 'slow tool: a silent tool the agent runs longer than the watchdog time is not a hang',
    async run(h, a) {
      const sleep = Math.ceil((MAIN_WATCHDOG_MS * 1.5) / 1000);
      const job = await h.createJob(a.id, `[[bash sleep ${sleep} && echo slept]]`);
      assert.equal(await h.settles(job.id, ['review', 'failed']), 'review', (await h.job(job.id)).failureReason);
      const result = assertOneToolCall(h, job, `sleep ${sleep}`, true);
      assert.equal(result.toolOutput?.trim(), 'slept');
      assert.ok((result.durationMs ?? 0) >= MAIN_WATCHDOG_MS, `the tool ran past the watchdog time (${result.durationMs} ms)`);
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'hung tool: a tool that outlives the tool limit is interrupted (and killed) and the job fails saying which tool',
    server: 'short-tool-limit',
    async run(h, a) {
      // Found by its unique command line: in the sandbox the tool's own `$$` is a pid-namespace pid.
      const sleep = `600.${Date.now() % 1_000_000}`;
      const job = await h.createJob(a.id, `[[bash echo started > tool.pid; exec sleep ${sleep}]]`);
      assert.equal(await h.settles(job.id, ['failed', 'review']), 'failed');
      assert.match((await h.job(job.id)).failureReason ?? '', new RegExp(`^the \\w+ tool ran for ${SHORT_TOOL_WATCHDOG_MS / 1000} s without finishing; interrupted$`));
      assert.equal(readFileSync(join(await worktreeOf(h, job), 'tool.pid'), 'utf8').trim(), 'started', 'the tool ran');
      await waitFor(() => pidsByCommandLine(`sleep ${sleep}`).length === 0, 20_000, 'the interrupted tool process to be killed');
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'resume by session id: a canceled job resumes in the same agent session',
    async run(h, a) {
      const job = await h.createJob(a.id, 'remember me');
      await h.reached(job.id, 'review');
      const { agentSessionId } = await h.job(job.id);
      assert.ok(agentSessionId);
      await h.finish(job.id, a.cli); // canceled; worker and CLI gone
      await h.post(`/api/jobs/${job.id}/resume`, { instruction: 'continue please' });
      await h.reached(job.id, 'review', 2);
      assert.equal((await h.job(job.id)).agentSessionId, agentSessionId, 'the same session continued');
      assert.ok(texts(h, job, 'agent').includes('echo: continue please'));
      assert.deepEqual(texts(h, job, 'system').filter((t) => /could not be resumed/.test(t)), []);
      assert.equal((await h.cliPids(job.id, a.cli)).length, 2, 'a new CLI process resumed it');
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'resume of a vanished session: a fresh session starts with a summary, and the transcript says so',
    async run(h, a) {
      const job = await h.createJob(a.id, 'say hello');
      await h.reached(job.id, 'review');
      const { agentSessionId } = await h.job(job.id);
      await h.finish(job.id, a.cli);
      const store = a.sessionStore(h, job);
      assert.ok(existsSync(store), `the agent kept its session in ${store}`);
      rmSync(store, { recursive: true, force: true });
      await h.post(`/api/jobs/${job.id}/resume`, {});
      assert.equal(await h.settles(job.id, ['review', 'failed'], 2), 'review', (await h.job(job.id)).failureReason);
      assert.ok(texts(h, job, 'system').some((t) => /could not be resumed; started a fresh session/.test(t)), JSON.stringify(texts(h, job, 'system')));
      const primed = texts(h, job, 'agent').find((t) => t.startsWith('echo: You are continuing a coding task'));
      assert.match(primed ?? '', /The task: say hello/);
      const after = await h.job(job.id);
      assert.ok(after.agentSessionId && after.agentSessionId !== agentSessionId, 'a new agent session');
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'telemetry: tokens (and cost where the CLI reports dollars) of every turn are summed on the job',
    async run(h, a) {
      const job = await h.createJob(a.id, 'count me');
      await h.reached(job.id, 'review');
      await h.post(`/api/jobs/${job.id}/messages`, { content: 'and me' });
      await h.reached(job.id, 'review', 2);
      const t = h.events(job.id, 'telemetry').map((e) => e.data);
      assert.equal(t.length, 2, 'one telemetry event per turn');
      const sum = (k: string): number => t.reduce((n, x) => n + (typeof x[k] === 'number' ? x[k] : 0), 0);
      const { usage } = await h.job(job.id);
      assert.ok(usage, 'the job carries its usage');
      assert.ok(sum('inputTokens') > 0 && sum('outputTokens') > 0);
      assert.equal(usage.inputTokens, sum('inputTokens'));
      assert.equal(usage.outputTokens, sum('outputTokens'));
      assert.ok(Math.abs(usage.costUsd - sum('costUsd')) < 1e-9, `${usage.costUsd} vs ${sum('costUsd')}`);
      assert.equal(usage.costUsd > 0, a.reportsCostUsd);
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'the chosen model is the one the CLI runs and reports',
    async run(h, a) {
      const job = await h.createJob(a.id, 'which model?', { model: a.model });
      await h.reached(job.id, 'review');
      const started = h.events(job.id, 'session_started')[0]?.data;
      assert.equal(started?.['model'], a.model, 'the CLI reported the chosen model for the session');
      assert.ok(h.events(job.id, 'telemetry').every((e) => e.data['model'] === a.model));
      assert.equal((await h.job(job.id)).model, a.model);
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: "the user's own agent config does not reach a job: no auto-approval, none of the user's processes",
    async run(h, a) {
      const leaks = a.seedUserConfig(h.home);
      const job = await h.createJob(a.id, '[[bash touch isolated.txt]]', { permissionMode: 'review_and_approve' });
      try {
        // A loaded allow rule would run it unasked: the job would reach review without an approval.
        const first = await h.sse.waitFor(
          (e) => e.data['jobId'] === job.id && (e.event === 'approval_requested' || (e.event === 'job_state_changed' && ['review', 'failed'].includes(String(e.data['to'])))),
          60_000,
          'an approval or the end of the turn',
        );
        assert.equal(first.event, 'approval_requested', 'the tool was not approved behind the policy');
        await h.resolve((first.data['approval'] as { id: string }).id, 'approved');
        assert.equal(await h.settles(job.id, ['review', 'failed']), 'review');
        await h.finish(job.id, a.cli);
      } finally {
        assert.deepEqual(leaks(h, job), []);
      }
    },
  },
];
