import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor } from 'xstate';
import type { DraftEvent } from '../../machines/domain-events.ts';
import type { JobSpec } from '../../machines/job-spec.ts';
import { jobStateOf } from '../../machines/job-state.ts';
import { jobMachine } from '../../machines/job.machine.ts';
import { createAgentActor } from '../../workers/agent-actor.ts';
import type { AgentAdapter, AgentCallbacks, AgentSession, PermissionDecision } from '../../workers/agents/adapter.ts';
import { describeSilence, toolWatchdogMsFromEnv, Watchdog, watchdogMsFromEnv, type Silence, type WatchdogClock } from '../../workers/watchdog.ts';

/** A clock that moves only when the test says so. */
class FakeClock implements WatchdogClock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now = (): number => this.t;
  setTimer = (fn: () => void, ms: number): unknown => {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimer = (h: unknown): void => {
    this.timers.delete(h as number);
  };
  get pending(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
}

function setupWith(timeoutMs: number, toolTimeoutMs: number) {
  const clock = new FakeClock();
  const fired: Silence[] = [];
  const w = new Watchdog(timeoutMs, (x) => fired.push(x), clock, toolTimeoutMs);
  return { clock, fired, w };
}

function setup(timeoutMs = 1000) {
  const clock = new FakeClock();
  const fired: number[] = [];
  const w = new Watchdog(timeoutMs, (s) => fired.push(s.silentMs), clock);
  return { clock, fired, w };
}

describe('the agent watchdog', () => {
  it('fires once after the configured silence while a turn runs', () => {
    const { clock, fired, w } = setup();
    w.arm();
    clock.advance(999);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [1000]);
    clock.advance(10_000);
    assert.equal(fired.length, 1, 'it fires once per turn');
    assert.equal(w.hasFired, true);
  });

  it('activity pushes the deadline back without re-creating timers', () => {
    const { clock, fired, w } = setup();
    w.arm();
    for (let i = 0; i < 10; i++) {
      clock.advance(600);
      w.activity();
    }
    assert.deepEqual(fired, []);
    assert.equal(clock.pending, 1);
    clock.advance(1000);
    assert.deepEqual(fired, [1000]);
  });

  it('does nothing between turns (disarmed) and before the first one', () => {
    const { clock, fired, w } = setup();
    clock.advance(5000);
    w.arm();
    clock.advance(500);
    w.disarm();
    clock.advance(5000);
    assert.deepEqual(fired, []);
    assert.equal(clock.pending, 0);
  });

  it('pauses while approvals are open (nested) and gives a full window after', () => {
    const { clock, fired, w } = setup();
    w.arm();
    clock.advance(900);
    w.pause();
    w.pause();
    clock.advance(60_000);
    w.resume();
    clock.advance(60_000);
    assert.deepEqual(fired, [], 'still held by the second approval');
    w.resume();
    clock.advance(999);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [1000]);
  });

  it('re-arms for a new turn after firing; stop() silences it for good', () => {
    const { clock, fired, w } = setup();
    w.arm();
    clock.advance(1000);
    w.arm();
    clock.advance(1000);
    assert.equal(fired.length, 2);
    w.arm();
    w.stop();
    clock.advance(5000);
    assert.equal(fired.length, 2);
  });

  it('a timeout of 0 is off', () => {
    const { clock, fired, w } = setup(0);
    w.arm();
    clock.advance(1e9);
    assert.deepEqual(fired, []);
    assert.equal(w.watching, false);
  });

  it('a tool in flight gets the (longer) tool limit; its result brings back the normal one, from then', () => {
    const clock = new FakeClock();
    const fired: Silence[] = [];
    const w = new Watchdog(1000, (x) => fired.push(x), clock, 5000);
    w.arm();
    clock.advance(900);
    w.toolStarted('t1', 'bash');
    clock.advance(4999);
    assert.deepEqual(fired, [], 'a silent tool is not a silent agent');
    w.toolFinished('t1');
    clock.advance(999);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [{ silentMs: 1000, limitMs: 1000 }]);
  });

  it('a tool that outlives the tool limit fires, naming the tool', () => {
    const clock = new FakeClock();
    const fired: Silence[] = [];
    const w = new Watchdog(1000, (x) => fired.push(x), clock, 5000);
    w.arm();
    w.toolStarted('t1', 'bash');
    w.toolStarted('t2', 'view');
    w.toolFinished('nope'); // unknown ids change nothing
    clock.advance(4000);
    w.activity(); // output from the agent (another tool's progress) pushes the deadline too
    clock.advance(4999);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [{ silentMs: 5000, limitMs: 5000, tool: { id: 't1', name: 'bash' } }]);
  });

  it('the tool limit is never shorter than the silence limit; 0 holds while a tool runs; a turn end forgets its tools', () => {
    const short = setupWith(1000, 10);
    short.w.arm();
    short.w.toolStarted('t', 'bash');
    short.clock.advance(999);
    assert.deepEqual(short.fired, []);
    short.clock.advance(1);
    assert.equal(short.fired.length, 1);

    const none = setupWith(1000, 0);
    none.w.arm();
    none.w.toolStarted('t', 'bash');
    none.clock.advance(1e9);
    assert.deepEqual(none.fired, [], 'no tool limit: the tool holds the watchdog');
    none.w.disarm();
    none.w.arm();
    assert.equal(none.w.toolsInFlight, 0);
    none.clock.advance(1000);
    assert.equal(none.fired.length, 1, 'the next turn is watched normally');
  });

  it('reads CODEPLANE_TOOL_WATCHDOG_MS, defaulting to 1800 s', () => {
    assert.equal(toolWatchdogMsFromEnv({}), 1_800_000);
    assert.equal(toolWatchdogMsFromEnv({ CODEPLANE_TOOL_WATCHDOG_MS: '5000' }), 5000);
    assert.equal(toolWatchdogMsFromEnv({ CODEPLANE_TOOL_WATCHDOG_MS: '0' }), 0);
    assert.equal(toolWatchdogMsFromEnv({ CODEPLANE_TOOL_WATCHDOG_MS: '-1' }), 1_800_000);
  });

  it('reads CODEPLANE_WATCHDOG_MS, defaulting to 600 s', () => {
    assert.equal(watchdogMsFromEnv({}), 600_000);
    assert.equal(watchdogMsFromEnv({ CODEPLANE_WATCHDOG_MS: '1500' }), 1500);
    assert.equal(watchdogMsFromEnv({ CODEPLANE_WATCHDOG_MS: '0' }), 0);
    assert.equal(watchdogMsFromEnv({ CODEPLANE_WATCHDOG_MS: 'soon' }), 600_000);
    assert.equal(describeSilence(300_000), '300 s');
    assert.equal(describeSilence(1500), '1.5 s');
  });
});

/** An adapter that does only what the test tells it to, through the callbacks it was given. */
function fakeAdapter() {
  const state = { cb: undefined as AgentCallbacks | undefined, interrupts: 0, closes: 0, sent: [] as string[], acknowledgeInterrupt: true };
  const adapter: AgentAdapter = {
    id: 'claude',
    start: (opts) => {
      state.cb = opts.callbacks;
      const session: AgentSession = {
        send: (c) => void state.sent.push(c),
        interrupt: async () => {
          state.interrupts += 1;
          if (state.acknowledgeInterrupt) state.cb?.turnEnded({ ok: false, reason: 'interrupted', crashed: false });
        },
        close: async () => void (state.closes += 1),
      };
      return session;
    },
  };
  return { adapter, state };
}

const spec: JobSpec = {
  jobId: 'j1',
  repoPath: '/tmp/repo',
  worktreePath: '/tmp/wt',
  branch: 'codeplane/j1',
  baseRef: 'main',
  agent: 'claude',
  prompt: 'do it',
  permissionMode: 'review_and_approve',
};

function runJob(opts: { acknowledgeInterrupt?: boolean; toolWatchdogMs?: number } = {}) {
  const clock = new FakeClock();
  const { adapter, state } = fakeAdapter();
  state.acknowledgeInterrupt = opts.acknowledgeInterrupt ?? true;
  const agent = createAgentActor({ adapter, spec, env: {}, newId: () => 'a1', now: () => '2026-01-01T00:00:00.000Z', watchdogMs: 1500, watchdogGraceMs: 500, clock, toolWatchdogMs: opts.toolWatchdogMs ?? 6000 });
  const actor = createActor(jobMachine.provide({ actors: { agent: agent.logic } }), { input: { jobId: 'j1' } });
  const emitted: DraftEvent[] = [];
  actor.on('*', (e) => void emitted.push(e));
  actor.start();
  actor.send({ type: 'PREPARE' });
  actor.send({ type: 'START' });
  const cb = (): AgentCallbacks => state.cb!;
  return { clock, state, actor, emitted, cb, agent, stateOf: () => jobStateOf(actor.getSnapshot()) };
}

const failure = (emitted: DraftEvent[]) => emitted.find((e) => e.type === 'job_state_changed' && e.to === 'failed');

describe('the watchdog in the agent actor', () => {
  it('interrupts a silent agent and fails the turn with a reason the user can read', async () => {
    const { clock, state, emitted, stateOf, agent } = runJob();
    clock.advance(1000);
    assert.equal(stateOf(), 'running');
    clock.advance(500);
    assert.equal(state.interrupts, 1, 'the agent was interrupted');
    assert.equal(stateOf(), 'failed');
    const f = failure(emitted);
    assert.ok(f && f.type === 'job_state_changed');
    assert.equal(f.reason, 'the agent produced no output for 1.5 s; interrupted');
    assert.ok(emitted.some((e) => e.type === 'log_line' && e.level === 'warn' && /watchdog/.test(e.message)));
    await agent.closed();
    assert.equal(state.closes, 1, 'the session was closed');
    assert.equal(state.interrupts, 1, 'a hung agent is not interrupted a second time on the way out');
  });

  it('fails the turn after the grace period when the hung agent never acknowledges the interrupt', () => {
    const { clock, state, emitted, stateOf } = runJob({ acknowledgeInterrupt: false });
    clock.advance(1500);
    assert.equal(state.interrupts, 1);
    assert.equal(stateOf(), 'running');
    clock.advance(500);
    assert.equal(stateOf(), 'failed');
    assert.match(String((failure(emitted) as { reason?: string }).reason), /no output for 1\.5 s/);
  });

  it('any callback from the adapter counts as activity', () => {
    const { clock, cb, stateOf } = runJob();
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      if (i % 3 === 0) cb().transcript({ role: 'agent_delta', text: 'x' });
      else if (i % 3 === 1) cb().log('info', 'stderr line');
      else cb().telemetry({ inputTokens: 1, outputTokens: 1 });
    }
    assert.equal(stateOf(), 'running');
  });

  it('raw activity (streamed tool input, tool progress) counts as a sign of life', () => {
    const { clock, cb, stateOf } = runJob();
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      cb().activity();
    }
    assert.equal(stateOf(), 'running');
    clock.advance(1500);
    assert.equal(stateOf(), 'failed');
  });

  it('a tool in flight may stay silent up to the tool limit; past it the turn fails naming the tool', () => {
    const { clock, cb, stateOf, emitted, state } = runJob();
    cb().transcript({ role: 'tool_call', toolName: 'Bash', toolCallId: 't1', toolInput: { command: 'sleep 120' } });
    clock.advance(5000);
    assert.equal(stateOf(), 'running', 'silent for longer than the watchdog time, but a tool runs');
    cb().transcript({ role: 'tool_result', toolCallId: 't1', toolOutput: '', toolSuccess: true, durationMs: 5000 });
    clock.advance(1499);
    assert.equal(stateOf(), 'running');
    cb().transcript({ role: 'tool_call', toolName: 'Bash', toolCallId: 't2', toolInput: { command: 'sleep 600' } });
    clock.advance(6000);
    assert.equal(state.interrupts, 1);
    assert.equal(stateOf(), 'failed');
    assert.equal((failure(emitted) as { reason?: string }).reason, 'the Bash tool ran for 6 s without finishing; interrupted');
  });

  it('does not count an approval wait, nor time in review', async () => {
    const { clock, cb, actor, stateOf, state } = runJob();
    clock.advance(1000);
    const decision: Promise<PermissionDecision> = cb().requestPermission(
      { toolName: 'Bash', kind: 'shell', summary: 'rm -rf build', detail: { command: 'rm -rf build' } },
      new AbortController().signal,
    );
    assert.equal(stateOf(), 'waiting_for_approval');
    clock.advance(60_000);
    assert.equal(stateOf(), 'waiting_for_approval');
    actor.send({ type: 'APPROVAL_DECIDED', approvalId: 'a1', resolution: 'approved' });
    assert.deepEqual(await decision, { behavior: 'allow' });
    await Promise.resolve();
    clock.advance(1400);
    assert.equal(stateOf(), 'running', 'a full window after the approval');
    cb().turnEnded({ ok: true, summary: 'done' });
    assert.equal(stateOf(), 'review');
    clock.advance(3_600_000);
    assert.equal(stateOf(), 'review');
    assert.equal(state.interrupts, 0);
    actor.send({ type: 'FOLLOW_UP', content: 'more' });
    assert.deepEqual(state.sent, ['more']);
    clock.advance(1500);
    assert.equal(stateOf(), 'failed', 'a follow-up turn is watched again');
  });
});
