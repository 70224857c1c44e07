import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CopilotClient, RuntimeConnection } from '@github/copilot-sdk';
import type { LogLevel, Telemetry, TranscriptDraft } from '../../machines/domain-events.ts';
import type { AgentSession, PermissionDecision, PermissionRequest, TurnOutcome } from '../../workers/agents/adapter.ts';
import { createCopilotAdapter, type CopilotAdapterConfig } from '../../workers/agents/copilot.ts';

// The REAL Copilot SDK drives the fake runtime; the extensionless launcher takes the SDK's "spawn directly" path.
const FAKE = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/fake-copilot');
const TEST_CONFIG: CopilotAdapterConfig = { closeGraceMs: 1000, interruptTimeoutMs: 2000 };
const roots: string[] = [];
const open: AgentSession[] = [];
// A failed assertion skips a test's own close; a runtime left running would keep this process alive forever.
afterEach(() => Promise.all(open.splice(0).map((s) => s.close())).then(() => undefined));
after(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));

type Decide = (req: PermissionRequest, signal: AbortSignal) => Promise<PermissionDecision>;
interface Run {
  session: AgentSession;
  worktree: string;
  copilotHome: string;
  transcript: TranscriptDraft[];
  telemetry: Telemetry[];
  logs: { level: LogLevel; message: string }[];
  sessions: { agentSessionId: string; model?: string }[];
  outcomes: TurnOutcome[];
  asked: { req: PermissionRequest; signal: AbortSignal }[];
  /** The runtime pids the fake reported on stderr (seen only through callbacks.log). */
  pids(): number[];
  /** Resolves with the n-th (1-based) turn outcome. */
  turn(n: number): Promise<TurnOutcome>;
  /** Closes the session and proves every runtime it started is gone (`spawned: false` when none could start). */
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
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface StartOpts {
  decide?: Decide;
  resumeSessionId?: string;
  env?: Record<string, string>;
  copilotHome?: string;
  worktree?: string;
  executablePath?: string;
  config?: CopilotAdapterConfig;
}

function start(prompt: string, o: StartOpts = {}): Run {
  const root = mkdtempSync(join(tmpdir(), 'cpl-copilot-'));
  roots.push(root);
  const worktree = o.worktree ?? root;
  const copilotHome = o.copilotHome ?? join(root, '.copilot-home');
  const decide: Decide = o.decide ?? (async () => ({ behavior: 'allow' }));
  const run: Omit<Run, 'session' | 'turn' | 'closeAndCheck' | 'pids'> = { worktree, copilotHome, transcript: [], telemetry: [], logs: [], sessions: [], outcomes: [], asked: [] };
  const session = createCopilotAdapter({ ...TEST_CONFIG, ...o.config }).start({
    spec: { jobId: 'job-1', repoPath: worktree, worktreePath: worktree, branch: 'cpl/job-1', baseRef: 'main', agent: 'copilot',
      model: 'gpt-5', prompt, permissionMode: 'review_and_approve' },
    executablePath: o.executablePath ?? FAKE,
    // env replaces the runtime's environment, so it must carry PATH (for `env node`); COPILOT_HOME holds the sessions.
    env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: root, COPILOT_HOME: copilotHome, ...o.env },
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
  const pids = (): number[] => run.logs.flatMap((l) => /fake-copilot started pid=(\d+)/.exec(l.message)?.[1] ?? []).map(Number);
  return {
    ...run,
    session,
    pids,
    turn: (n) => waitFor(() => run.outcomes[n - 1], `turn ${n} to end`),
    async closeAndCheck(spawned = true) {
      await session.close();
      await session.close(); // idempotent
      assert.equal(pids().length > 0, spawned, 'the runtime reported its pid on stderr');
      for (const pid of pids()) assert.equal(alive(pid), false, `fake-copilot ${pid} still running`);
    },
  };
}

const texts = (r: Run, role: TranscriptDraft['role']): string[] => r.transcript.filter((e) => e.role === role).map((e) => e.text ?? '');

describe('copilot adapter (real SDK, fake runtime)', { timeout: 120_000 }, () => {
  it('runs an echo turn: session, streamed and final text, per-turn telemetry, stderr to the log only', async () => {
    const written: string[] = [];
    const realWrite = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      written.push(String(chunk));
      return realWrite(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      const r = start('hello there');
      assert.deepEqual(await r.turn(1), { ok: true, summary: 'echo: hello there' });
      assert.equal(r.sessions.length, 1);
      assert.match(r.sessions[0]?.agentSessionId ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(r.sessions[0]?.model, 'gpt-5');
      assert.ok(existsSync(join(r.copilotHome, 'session-state', r.sessions[0]?.agentSessionId ?? '-')), 'the session lives under COPILOT_HOME');
      assert.deepEqual(texts(r, 'agent'), ['echo: hello there']);
      assert.equal(texts(r, 'agent_delta').join(''), 'echo: hello there');
      assert.equal(r.telemetry.length, 1);
      const t = r.telemetry[0];
      assert.ok((t?.inputTokens ?? 0) > 0 && (t?.outputTokens ?? 0) > 0, JSON.stringify(r.telemetry));
      assert.equal(t?.model, 'gpt-5');
      assert.equal(t?.turns, 1);
      assert.equal(t?.costUsd, undefined, 'usage.cost is a billing multiplier, not dollars');
      assert.ok(r.logs.some((l) => l.message.startsWith('fake-copilot started')), JSON.stringify(r.logs));
      assert.deepEqual(written.filter((w) => w.includes('fake-copilot started') || w.includes('[CLI subprocess]')), [], 'runtime stderr reached our console');
      await r.closeAndCheck();
    } finally {
      process.stderr.write = realWrite;
    }
  });

  it('maps reasoning before the answer', async () => {
    const r = start('[[think weighing options]] go');
    assert.equal((await r.turn(1)).ok, true);
    const roles = r.transcript.map((e) => e.role).filter((role) => role !== 'agent_delta');
    assert.deepEqual(roles, ['reasoning', 'agent']);
    assert.deepEqual(texts(r, 'reasoning'), ['weighing options']);
    await r.closeAndCheck();
  });

  it('writes the file in the worktree when the write is approved', async () => {
    const r = start('[[write notes/a.txt hello file]]');
    assert.equal((await r.turn(1)).ok, true);
    assert.equal(readFileSync(join(r.worktree, 'notes/a.txt'), 'utf8'), 'hello file');
    const req = r.asked[0]?.req;
    assert.equal(req?.kind, 'write');
    assert.equal(req?.toolName, 'create');
    assert.equal(req?.summary, join(r.worktree, 'notes/a.txt'));
    assert.equal(req?.detail.fileName, join(r.worktree, 'notes/a.txt'));
    assert.match(String(req?.detail.diff), /^\+hello file$/m);
    const call = r.transcript.find((e) => e.role === 'tool_call');
    const result = r.transcript.find((e) => e.role === 'tool_result');
    assert.equal(call?.toolName, 'create');
    assert.deepEqual(call?.toolInput, { path: join(r.worktree, 'notes/a.txt'), file_text: 'hello file' });
    assert.equal(req?.toolCallId, call?.toolCallId);
    assert.equal(result?.toolCallId, call?.toolCallId);
    assert.equal(result?.toolSuccess, true);
    assert.equal(typeof result?.durationMs, 'number');
    assert.equal(r.telemetry[0]?.turns, 2, 'two model calls in one turn, one telemetry increment');
    await r.closeAndCheck();
  });

  it('rejects a write with a note: no file, a failed tool_result, and the agent carries on quoting it', async () => {
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
    assert.deepEqual(calls[0]?.toolInput, { command: 'echo streamed', description: 'Run a shell command', mode: 'sync' });
    assert.equal(texts(r, 'agent_delta').some((t) => t.includes('"command"')), false, 'no tool input leaked into the text stream');
    const results = r.transcript.filter((e) => e.role === 'tool_result');
    assert.equal(results.length, 1);
    assert.equal(results[0]?.toolOutput?.trim(), 'streamed');
    await r.closeAndCheck();
  });

  it('runs an approved shell command in the worktree and returns its output', async () => {
    const r = start('[[bash pwd]]');
    assert.equal((await r.turn(1)).ok, true);
    assert.equal(r.asked[0]?.req.kind, 'shell');
    assert.equal(r.asked[0]?.req.summary, 'pwd');
    assert.equal(r.asked[0]?.req.detail.command, 'pwd');
    assert.equal(r.transcript.find((e) => e.role === 'tool_result')?.toolOutput?.trim(), r.worktree);
    await r.closeAndCheck();
  });

  it('sends a follow-up to the same session and runtime process', async () => {
    const r = start('first');
    await r.turn(1);
    r.session.send('second');
    assert.deepEqual(await r.turn(2), { ok: true, summary: 'echo: second' });
    assert.equal(r.sessions.length, 1, 'one session across turns');
    assert.equal(r.pids().length, 1, 'one runtime process');
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
    // The runtime sends no tool.execution_complete for the aborted call; the transcript still closes it.
    const result = r.transcript.find((e) => e.role === 'tool_result');
    assert.equal(result?.toolSuccess, false);
    assert.equal(result?.toolOutput, 'Interrupted by user');
    await r.closeAndCheck();
  });

  it('detects a runtime that dies silently mid-turn as crashed, with its stderr', async () => {
    const r = start('[[crash]]');
    const out = await r.turn(1);
    assert.ok(!out.ok && out.crashed && /code 3/.test(out.reason) && /simulated crash/.test(out.reason), JSON.stringify(out));
    assert.ok(r.logs.some((l) => l.level === 'warn' && l.message.includes('panic: simulated crash')), JSON.stringify(r.logs));
    r.session.send('anyone there?'); // the runtime is gone: the worker must still hear that this turn ended
    const late = await r.turn(2);
    assert.ok(!late.ok && late.crashed, JSON.stringify(late));
    await r.closeAndCheck();
  });

  it('detects the crash with the ping watchdog when the process is not observed', async () => {
    const r = start('[[crash]]', { config: { liveness: 'ping', pingIntervalMs: 100, pingTimeoutMs: 1000 } });
    const out = await r.turn(1);
    assert.ok(!out.ok && out.crashed && /stopped responding/.test(out.reason), JSON.stringify(out));
    await r.session.close();
  });

  it('reports session.error as a failed turn, once, and the session stays usable', async () => {
    const r = start('[[error]]');
    assert.deepEqual(await r.turn(1), { ok: false, reason: 'simulated failure', crashed: false });
    // The runtime's session.idle follows the error on the same stream, before anything of the next turn:
    // once the next turn has ended, that idle was handled, and it must have ended no turn of its own.
    r.session.send('still there?');
    assert.deepEqual(await r.turn(2), { ok: true, summary: 'echo: still there?' });
    assert.deepEqual(r.outcomes, [{ ok: false, reason: 'simulated failure', crashed: false }, { ok: true, summary: 'echo: still there?' }]);
    await r.closeAndCheck();
  });

  it('reports a startup failure as crashed, with the exit code and stderr', async () => {
    const r = start('hi', { env: { FAKE_COPILOT_STARTUP_FAIL: '1' } });
    const out = await r.turn(1);
    assert.ok(!out.ok && out.crashed && /code 2/.test(out.reason) && /simulated startup failure/.test(out.reason), JSON.stringify(out));
    assert.equal(r.sessions.length, 0);
    await r.closeAndCheck();
  });

  it('reports a missing runtime binary as crashed', async () => {
    const r = start('hi', { executablePath: '/nonexistent/copilot' });
    const out = await r.turn(1);
    assert.ok(!out.ok && out.crashed && out.reason.includes('/nonexistent/copilot'), JSON.stringify(out));
    await r.closeAndCheck(false);
  });

  it('resumes a known session id in a new runtime and fails clearly on an unknown one', async () => {
    const first = start('remember me');
    await first.turn(1);
    const id = first.sessions[0]?.agentSessionId ?? '';
    await first.closeAndCheck();
    const again = start('back again', { resumeSessionId: id, copilotHome: first.copilotHome, worktree: first.worktree });
    assert.deepEqual(await again.turn(1), { ok: true, summary: 'echo: back again' });
    assert.equal(again.sessions[0]?.agentSessionId, id);
    assert.notDeepEqual(again.pids(), first.pids(), 'a new runtime process');
    await again.closeAndCheck();
    const unknown = randomUUID();
    const bad = start('hi', { resumeSessionId: unknown });
    const out = await bad.turn(1);
    assert.ok(!out.ok && !out.crashed && out.reason.includes(`Session not found: ${unknown}`), JSON.stringify(out));
    assert.equal(bad.sessions.length, 0);
    bad.session.send('hello?');
    assert.deepEqual(await bad.turn(2), out, 'a later message hears the same failure');
    await bad.closeAndCheck();
  });

  it('close() kills a hung runtime and ends no turn', async () => {
    const r = start('[[hang]]');
    await waitFor(() => r.sessions[0], 'session start');
    await waitFor(() => r.transcript.length === 0 && r.pids()[0], 'runtime pid');
    const t0 = Date.now();
    await r.closeAndCheck();
    assert.ok(Date.now() - t0 < 5000, 'close is bounded');
    assert.deepEqual(r.outcomes, []);
  });
});

describe('fake copilot runtime protocol (real SDK)', { timeout: 20_000 }, () => {
  it('streams a tool round like the runtime: tool_call_delta pieces, the tool request, execution start, partial output, completion', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-copilot-proto-'));
    roots.push(home);
    const client = new CopilotClient({ connection: RuntimeConnection.forStdio({ path: FAKE }), baseDirectory: home, logLevel: 'none',
      env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: home } });
    try {
      await client.start();
      const session = await client.createSession({ workingDirectory: home, streaming: true, onPermissionRequest: async () => ({ kind: 'approve-once' }) });
      const events: { type: string; data: Record<string, unknown> }[] = [];
      session.on((e) => void events.push({ type: e.type, data: e.data as Record<string, unknown> }));
      await session.sendAndWait({ prompt: '[[bash echo hi]]' }, 10_000);
      const types = events.map((e) => e.type);
      const deltas = events.filter((e) => e.type === 'assistant.tool_call_delta');
      assert.ok(deltas.length > 1, types.join(','));
      assert.deepEqual(JSON.parse(deltas.map((d) => String(d.data['inputDelta'])).join('')), { command: 'echo hi', description: 'Run a shell command', mode: 'sync' });
      const order = ['assistant.tool_call_delta', 'assistant.message', 'tool.execution_start', 'permission.requested', 'permission.completed', 'tool.execution_partial_result', 'tool.execution_complete'];
      const at = order.map((t) => types.indexOf(t));
      assert.deepEqual([...at].sort((a, b) => a - b), at, `in order: ${types.join(',')}`);
      assert.ok(at.every((i) => i >= 0), types.join(','));
      const id = deltas[0]?.data['toolCallId'];
      assert.ok(events.filter((e) => e.type.startsWith('tool.')).every((e) => e.data['toolCallId'] === id), 'one tool call id throughout');
    } finally {
      await client.forceStop();
    }
  });

  it("starts the MCP servers of COPILOT_HOME's mcp-config.json, as the runtime does", async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-copilot-proto-'));
    roots.push(home);
    const marker = join(home, 'mcp-started');
    writeFileSync(join(home, 'mcp-config.json'), JSON.stringify({ mcpServers: { mine: { type: 'local', command: '/bin/sh', args: ['-c', `echo started > '${marker}'`], tools: ['*'] } } }));
    const client = new CopilotClient({ connection: RuntimeConnection.forStdio({ path: FAKE }), baseDirectory: home, logLevel: 'none',
      env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: home } });
    try {
      await client.start();
      await client.createSession({ workingDirectory: home, onPermissionRequest: async () => ({ kind: 'approve-once' }) });
      await waitFor(() => (existsSync(marker) ? true : undefined), 'the MCP server to start');
    } finally {
      await client.forceStop();
    }
  });

  it('answers the handshake, ping, auth, models, and refuses unknown methods with -32601', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-copilot-proto-'));
    roots.push(home);
    const client = new CopilotClient({ connection: RuntimeConnection.forStdio({ path: FAKE }), baseDirectory: home, logLevel: 'none',
      env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: home } });
    try {
      await client.start(); // fails unless `connect` reports protocol version 3
      assert.equal((await client.ping('x')).protocolVersion, 3);
      assert.equal((await client.getAuthStatus()).isAuthenticated, true);
      assert.ok((await client.listModels()).some((m) => m.id === 'gpt-5'));
      await assert.rejects(client.rpc.tools.list({}), (e: Error & { code?: number }) => e.code === -32601);
    } finally {
      await client.forceStop();
    }
  });
});
