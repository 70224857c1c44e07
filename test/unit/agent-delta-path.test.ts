/**
 * Streamed text deltas skip the statechart (emitDelta) yet keep their place:
 * the job's events come out in exactly the order the agent produced them,
 * deltas and machine events interleaved, and nothing streams after the agent
 * actor stopped (the machine would have dropped it too).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor } from 'xstate';
import type { DraftEvent } from '../../machines/domain-events.ts';
import type { JobSpec } from '../../machines/job-spec.ts';
import { jobStateOf } from '../../machines/job-state.ts';
import { jobMachine } from '../../machines/job.machine.ts';
import { createAgentActor } from '../../workers/agent-actor.ts';
import type { AgentAdapter, AgentCallbacks } from '../../workers/agents/adapter.ts';

const spec: JobSpec = { jobId: 'j1', repoPath: '/tmp/repo', worktreePath: '/tmp/wt', branch: 'codeplane/j1', baseRef: 'main', agent: 'claude', prompt: 'do it', permissionMode: 'full_auto' };

function run(direct: boolean) {
  let cb: AgentCallbacks | undefined;
  const adapter: AgentAdapter = {
    id: 'claude',
    start: (opts) => {
      cb = opts.callbacks;
      return { send: () => undefined, interrupt: async () => cb?.turnEnded({ ok: false, reason: 'interrupted', crashed: false }), close: async () => undefined };
    },
  };
  const out: { via: 'direct' | 'machine'; event: DraftEvent }[] = [];
  const agent = createAgentActor({
    adapter, spec, env: {}, newId: () => 'a1', now: () => '2026-01-01T00:00:00.000Z',
    ...(direct ? { emitDelta: (event: DraftEvent) => void out.push({ via: 'direct', event }) } : {}),
  });
  const actor = createActor(jobMachine.provide({ actors: { agent: agent.logic } }), { input: { jobId: 'j1' } });
  actor.on('*', (event) => void out.push({ via: 'machine', event }));
  actor.start();
  actor.send({ type: 'PREPARE' });
  actor.send({ type: 'START' });
  return { cb: () => cb!, out, actor };
}

/** A turn as an agent streams it. */
function stream(cb: AgentCallbacks): void {
  cb.transcript({ role: 'agent_delta', text: 'Hel' });
  cb.transcript({ role: 'agent_delta', text: 'lo' });
  cb.transcript({ role: 'agent', text: 'Hello' });
  cb.telemetry({ inputTokens: 3, outputTokens: 2 });
  cb.transcript({ role: 'tool_call', toolName: 'Bash', toolCallId: 't1', toolInput: { command: 'ls' } });
  cb.transcript({ role: 'tool_result', toolCallId: 't1', toolOutput: 'a.txt', toolSuccess: true });
  cb.transcript({ role: 'agent_delta', text: 'done' });
  cb.turnEnded({ ok: true, summary: 'done' });
}

const describeEvent = (e: DraftEvent): string =>
  e.type === 'transcript_update' ? `${e.entry.role}:${e.entry.text ?? e.entry.toolCallId ?? ''}` : e.type === 'job_state_changed' ? `state:${e.to}` : e.type;

describe('streamed deltas', () => {
  it('bypass the statechart and keep the order the agent produced them in', () => {
    const direct = run(true);
    stream(direct.cb());
    const viaMachine = run(false);
    stream(viaMachine.cb());
    assert.deepEqual(direct.out.map((o) => describeEvent(o.event)), viaMachine.out.map((o) => describeEvent(o.event)), 'the same events in the same order either way');
    assert.deepEqual(direct.out.filter((o) => o.via === 'direct').map((o) => describeEvent(o.event)), ['agent_delta:Hel', 'agent_delta:lo', 'agent_delta:done']);
    assert.ok(direct.out.filter((o) => o.via === 'machine').every((o) => !(o.event.type === 'transcript_update' && o.event.entry.role === 'agent_delta')), 'no delta went through the machine');
    assert.equal(jobStateOf(direct.actor.getSnapshot()), 'review');
  });

  it('stop when the agent actor stops (a canceled job streams nothing more)', () => {
    const { cb, out, actor } = run(true);
    const callbacks = cb();
    callbacks.transcript({ role: 'agent_delta', text: 'before' });
    actor.send({ type: 'CANCEL' });
    assert.equal(jobStateOf(actor.getSnapshot()), 'canceled');
    callbacks.transcript({ role: 'agent_delta', text: 'after' });
    assert.deepEqual(out.filter((o) => o.via === 'direct').map((o) => describeEvent(o.event)), ['agent_delta:before']);
  });
});
