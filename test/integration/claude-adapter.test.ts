import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { query, type SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import type { LogLevel, Telemetry, TranscriptDraft } from '../../machines/domain-events.ts';
import type { AgentSession, PermissionDecision, PermissionRequest, TurnOutcome } from '../../workers/agents/adapter.ts';
import { createClaudeAdapter } from '../../workers/agents/claude.ts';

// The REAL Agent SDK drives the fake CLI; the extensionless launcher takes the SDK's "spawn directly" path.
const FAKE = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/fake-claude');
const adapter = createClaudeAdapter({ closeGraceMs: 300, interruptTimeoutMs: 2000 });
const roots: string[] = [];
const open: AgentSession[] = [];
// A failed assertion skips a test's own close; a CLI left running would keep this process alive forever.
afterEach(() => Promise.all(open.splice(0).map((s) => s.close())).then(() => undefined));
after(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));

type Decide = (req: PermissionRequest, signal: AbortSignal) => Promise<PermissionDecision>;
interface Run {
  session: AgentSession;
  worktree: string;
  transcript: TranscriptDraft[];
  telemetry: Telemetry[];
  logs: { level: LogLevel; message: string }[];
  sessions: { agentSessionId: string; model?: string }[];
  outcomes: TurnOutcome[];
  asked: { req: PermissionRequest; signal: AbortSignal }[];
  /** Resolves with the n-th (1-based) turn outcome. */
  turn(n: number): Promise<TurnOutcome>;
  /** Closes the session and proves every CLI it started is gone (`spawned: false` when none could start). */
  closeAndCheck(spawned?: boolean): Promise<void>;
}

async function waitFor<T>(probe: () => T | undefined, what: string, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface StartOpts {
  decide?: Decide;
  resumeSessionId?: string;
  env?: Record<string, string>;
  home?: string;
  worktree?: string;
  executablePath?: string;
}

function start(prompt: string, o: StartOpts = {}): Run {
  const root = mkdtempSync(join(tmpdir(), 'cpl-claude-'));
  roots.push(root);
  const worktree = o.worktree ?? root;
  const decide: Decide = o.decide ?? (async () => ({ behavior: 'allow' }));
  const run: Omit<Run, 'session' | 'turn' | 'closeAndCheck'> = { worktree, transcript: [], telemetry: [], logs: [], sessions: [], outcomes: [], asked: [] };
  const session = adapter.start({
    spec: { jobId: 'job-1', repoPath: worktree, worktreePath: worktree, branch: 'cpl/job-1', baseRef: 'main', agent: 'claude',
      model: 'claude-opus-4-1', prompt, permissionMode: 'review_and_approve' },
    executablePath: o.executablePath ?? FAKE,
    // env replaces the CLI's environment, so it must carry PATH (for `env node`) and HOME (session files).
    env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: o.home ?? root, ...o.env },
    resumeSessionId: o.resumeSessionId,
    callbacks: {
      transcript: (e) => run.transcript.push(e),
      telemetry: (t) => run.telemetry.push(t),
      log: (level, message) => run.logs.push({ level, message }),
      activity: () => undefined,
      sessionStarted: (info) => run.sessions.push(info),
      requestPermission: (req, signal) => {
        run.asked.push({ req, signal });
        return decide(req, signal);
      },
      turnEnded: (outcome) => run.outcomes.push(outcome),
    },
  });
  open.push(session);
  const pids = (): number[] => run.logs.flatMap((l) => /fake-claude started pid=(\d+)/.exec(l.message)?.[1] ?? []).map(Number);
  return {
    ...run,
    session,
    turn: (n) => waitFor(() => run.outcomes[n - 1], `turn ${n} to end`),
    async closeAndCheck(spawned = true) {
      await session.close();
      await session.close(); // idempotent
      assert.equal(pids().length > 0, spawned, 'the CLI reported its pid on stderr');
      for (const pid of pids()) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `fake-claude ${pid} still running`);
    },
  };
}

const texts = (r: Run, role: TranscriptDraft['role']): string[] => r.transcript.filter((e) => e.role === role).map((e) => e.text ?? '');

describe('claude adapter (real SDK, fake CLI)', { timeout: 120_000 }, () => {
  it('runs an echo turn: session, streamed and final text, telemetry, stderr logs', async () => {
    const r = start('hello there');
    assert.deepEqual(await r.turn(1), { ok: true, summary: 'echo: hello there' });
    assert.equal(r.sessions.length, 1);
    assert.match(r.sessions[0]?.agentSessionId ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(r.sessions[0]?.model, 'claude-opus-4-1');
    assert.deepEqual(texts(r, 'agent'), ['echo: hello there']);
    assert.equal(texts(r, 'agent_delta').join(''), 'echo: hello there');
    assert.equal(r.telemetry.length, 1);
    assert.ok((r.telemetry[0]?.inputTokens ?? 0) > 0 && (r.telemetry[0]?.costUsd ?? 0) > 0, JSON.stringify(r.telemetry));
    assert.equal(r.telemetry[0]?.model, 'claude-opus-4-1');
    assert.ok(r.logs.some((l) => l.message.startsWith('fake-claude started')), JSON.stringify(r.logs));
    await r.closeAndCheck();
  });

  it('maps thinking to reasoning before the answer', async () => {
    const r = start('[[think weighing options]] go');
    assert.equal((await r.turn(1)).ok, true);
    const roles = r.transcript.map((e) => e.role).filter((role) => role !== 'agent_delta');
    assert.deepEqual(roles, ['reasoning', 'agent']);
    assert.deepEqual(texts(r, 'reasoning'), ['weighing options']);
    await r.closeAndCheck();
  });

  it('writes the file in the worktree when the write is allowed', async () => {
    const r = start('[[write notes/a.txt hello file]]');
    assert.equal((await r.turn(1)).ok, true);
    assert.equal(readFileSync(join(r.worktree, 'notes/a.txt'), 'utf8'), 'hello file');
    const req = r.asked[0]?.req;
    assert.equal(req?.kind, 'write');
    assert.equal(req?.summary, join(r.worktree, 'notes/a.txt'));
    assert.match(String(req?.detail.diff), /^\+hello file$/m);
    const call = r.transcript.find((e) => e.role === 'tool_call');
    const result = r.transcript.find((e) => e.role === 'tool_result');
    assert.equal(call?.toolName, 'Write');
    assert.equal(result?.toolCallId, call?.toolCallId);
    assert.equal(result?.toolSuccess, true);
    assert.equal(typeof result?.durationMs, 'number');
    await r.closeAndCheck();
  });

  it('denies a write with a note: no file, an error tool_result, and the agent carries on', async () => {
    const r = start('[[write secret.txt nope]]', { decide: async () => ({ behavior: 'deny', message: 'not in this repo' }) });
    assert.deepEqual(await r.turn(1), { ok: true, summary: 'Understood, not writing: not in this repo' });
    assert.equal(existsSync(join(r.worktree, 'secret.txt')), false);
    const result = r.transcript.find((e) => e.role === 'tool_result');
    assert.equal(result?.toolSuccess, false);
    assert.match(result?.toolOutput ?? '', /not in this repo/);
    await r.closeAndCheck();
  });

  it('shows a streamed tool call once, with its complete input, then its result', async () => {
    const r = start('[[bash echo streamed]]');
    assert.equal((await r.turn(1)).ok, true);
    const calls = r.transcript.filter((e) => e.role === 'tool_call');
    assert.equal(calls.length, 1, JSON.stringify(r.transcript));
    assert.deepEqual(calls[0]?.toolInput, { command: 'echo streamed', description: 'Run a shell command' });
    assert.equal(texts(r, 'agent_delta').some((t) => t.includes('"command"')), false, 'no tool input leaked into the text stream');
    const results = r.transcript.filter((e) => e.role === 'tool_result');
    assert.equal(results.length, 1);
    assert.equal(results[0]?.toolOutput?.trim(), 'streamed');
    await r.closeAndCheck();
  });

  it('runs an allowed shell command in the worktree and returns its output', async () => {
    const r = start('[[bash pwd]]');
    assert.equal((await r.turn(1)).ok, true);
    assert.equal(r.asked[0]?.req.kind, 'shell');
    assert.equal(r.asked[0]?.req.summary, 'pwd');
    assert.equal(r.transcript.find((e) => e.role === 'tool_result')?.toolOutput?.trim(), r.worktree);
    await r.closeAndCheck();
  });

  it('sends a follow-up to the same session and process', async () => {
    const r = start('first');
    await r.turn(1);
    r.session.send('second');
    assert.deepEqual(await r.turn(2), { ok: true, summary: 'echo: second' });
    assert.equal(r.sessions.length, 1, 'one session across turns');
    assert.equal(r.logs.filter((l) => l.message.startsWith('fake-claude started')).length, 1, 'one CLI process');
    assert.equal(r.telemetry.length, 2);
    await r.closeAndCheck();
  });

  it('interrupts a streaming turn, then a follow-up works', async () => {
    const r = start('[[slow 40]]');
    await waitFor(() => (texts(r, 'agent_delta').length > 0 ? true : undefined), 'first delta');
    await r.session.interrupt();
    assert.deepEqual(await r.turn(1), { ok: false, reason: 'interrupted', crashed: false });
    assert.ok(texts(r, 'agent_delta').length < 40, 'the stream stopped early');
    r.session.send('after');
    assert.deepEqual(await r.turn(2), { ok: true, summary: 'echo: after' });
    await r.closeAndCheck();
  });

  it('aborts the permission signal when a pending request is interrupted', async () => {
    const r = start('[[bash touch ran.txt]]', { decide: () => new Promise(() => {}) });
    const { signal } = await waitFor(() => r.asked[0], 'permission request');
    assert.equal(signal.aborted, false);
    await r.session.interrupt();
    assert.deepEqual(await r.turn(1), { ok: false, reason: 'interrupted', crashed: false });
    await waitFor(() => (signal.aborted ? true : undefined), 'signal abort');
    assert.equal(existsSync(join(r.worktree, 'ran.txt')), false);
    await r.closeAndCheck();
  });

  it('reports a CLI crash as crashed, with its stderr', async () => {
    const r = start('[[crash]]');
    const out = await r.turn(1);
    assert.equal(out.ok, false);
    assert.ok(!out.ok && out.crashed && /code 3/.test(out.reason) && /simulated crash/.test(out.reason), JSON.stringify(out));
    assert.ok(r.logs.some((l) => l.level === 'warn' && l.message.includes('panic: simulated crash')), JSON.stringify(r.logs));
    await r.closeAndCheck();
  });

  it('reports an error result as a failed turn, once, not as a crash', async () => {
    const r = start('[[error]]');
    assert.deepEqual(await r.turn(1), { ok: false, reason: 'simulated failure', crashed: false });
    // The CLI exits 1 after an error result and the SDK then throws; that must not end a second turn.
    await waitFor(() => r.logs.find((l) => l.message.includes('returned an error result')), 'the SDK error after exit');
    assert.equal(r.outcomes.length, 1, JSON.stringify(r.outcomes));
    r.session.send('anyone there?'); // the CLI is gone: the worker must still hear that this turn ended
    const late = await r.turn(2);
    assert.ok(!late.ok && late.crashed, JSON.stringify(late));
    await r.closeAndCheck();
  });

  it('reports a startup failure as crashed', async () => {
    const r = start('hi', { env: { FAKE_CLAUDE_STARTUP_FAIL: '1' } });
    const out = await r.turn(1);
    assert.ok(!out.ok && out.crashed && /code 2/.test(out.reason) && /simulated startup failure/.test(out.reason), JSON.stringify(out));
    assert.equal(r.sessions.length, 0);
    await r.closeAndCheck();
  });

  it('reports a missing CLI binary as crashed', async () => {
    const r = start('hi', { executablePath: '/nonexistent/claude' });
    const out = await r.turn(1);
    assert.ok(!out.ok && out.crashed && out.reason.includes('/nonexistent/claude'), JSON.stringify(out));
    await r.closeAndCheck(false);
  });

  it('resumes a known session id and fails on an unknown one', async () => {
    const first = start('remember me');
    await first.turn(1);
    const id = first.sessions[0]?.agentSessionId ?? '';
    await first.closeAndCheck();
    const again = start('back again', { resumeSessionId: id, home: first.worktree, worktree: first.worktree });
    assert.deepEqual(await again.turn(1), { ok: true, summary: 'echo: back again' });
    assert.equal(again.sessions[0]?.agentSessionId, id);
    await again.closeAndCheck();
    const unknown = randomUUID();
    const bad = start('hi', { resumeSessionId: unknown });
    const out = await bad.turn(1);
    assert.ok(!out.ok && out.crashed && out.reason.includes(`No conversation found with session ID: ${unknown}`), JSON.stringify(out));
    await bad.closeAndCheck();
  });

  it('close() kills a hung CLI and ends no turn', async () => {
    const r = start('[[hang]]');
    await waitFor(() => r.sessions[0], 'session start');
    const t0 = Date.now();
    await r.closeAndCheck();
    assert.ok(Date.now() - t0 < 5000, 'close is bounded');
    assert.deepEqual(r.outcomes, []);
  });
});

describe('fake claude CLI protocol (real SDK)', { timeout: 30_000 }, () => {
  it('streams a tool_use block like the real CLI: content_block_start, input_json_delta pieces, then the assistant message', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cpl-claude-proto-'));
    roots.push(cwd);
    const messages: SDKMessage[] = [];
    for await (const m of query({
      prompt: '[[bash echo hi]]',
      options: { cwd, pathToClaudeCodeExecutable: FAKE, includePartialMessages: true, settingSources: [],
        env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: cwd },
        canUseTool: async (_name, input) => ({ behavior: 'allow', updatedInput: input }) },
    })) messages.push(m);
    type StreamEvent = { type?: string; content_block?: { type?: string; id?: string; input?: unknown }; delta?: { type?: string; partial_json?: string } };
    const events = messages.flatMap((m) => (m.type === 'stream_event' ? [m.event as StreamEvent] : []));
    const start = events.find((e) => e.type === 'content_block_start' && e.content_block?.type === 'tool_use');
    assert.ok(start?.content_block, JSON.stringify(events));
    assert.deepEqual(start.content_block.input, {}, 'the input arrives as deltas');
    const pieces = events.filter((e) => e.type === 'content_block_delta' && e.delta?.type === 'input_json_delta').map((e) => String(e.delta?.partial_json));
    assert.ok(pieces.length > 1, 'several pieces');
    assert.deepEqual(JSON.parse(pieces.join('')), { command: 'echo hi', description: 'Run a shell command' });
    const toolUse = messages.flatMap((m) => (m.type === 'assistant' ? m.message.content : [])).find((b) => b.type === 'tool_use');
    assert.equal(toolUse?.type === 'tool_use' ? toolUse.id : undefined, start.content_block.id, 'the assistant message carries the same call');
    assert.equal(messages.filter((m) => m.type === 'result').length, 1);
  });

  it("loads the permission rules of the settings sources it is given, as the real CLI does", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cpl-claude-proto-'));
    roots.push(cwd);
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(join(cwd, '.claude'));
    writeFileSync(join(cwd, '.claude', 'settings.json'), JSON.stringify({ permissions: { allow: ['Bash(touch:*)'] } }));
    const asked = async (settingSources: ('user' | 'project' | 'local')[]): Promise<number> => {
      let n = 0;
      for await (const _ of query({
        prompt: '[[bash touch x]]',
        options: { cwd, pathToClaudeCodeExecutable: FAKE, settingSources,
          env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: cwd },
          canUseTool: async (_name, input) => (n++, { behavior: 'allow', updatedInput: input }) },
      }));
      return n;
    };
    assert.equal(await asked([]), 1, 'no settings: the host is asked');
    assert.equal(await asked(['user']), 0, 'the user settings (HOME/.claude/settings.json) allow it unasked');
  });
});
