/**
 * The agent actor of a worker that continues a job whose approvals outlived their turn: it tells
 * the agent the answers once all are in (one message, which starts the next turn), and the
 * approved call, repeated, runs once without asking; anything else is asked as usual. The
 * statechart is the real one; the adapter is an in-process stand-in that records what it is told
 * (the end-to-end tests drive real CLIs: test/integration/approval-across-*.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor } from 'xstate';
import type { ApprovalRequest, DraftEvent } from '../../machines/domain-events.ts';
import type { JobSpec } from '../../machines/job-spec.ts';
import { jobStateOf } from '../../machines/job-state.ts';
import { jobMachine } from '../../machines/job.machine.ts';
import { createAgentActor } from '../../workers/agent-actor.ts';
import type { AgentAdapter, AgentCallbacks, PermissionDecision, PermissionRequest } from '../../workers/agents/adapter.ts';

const spec: JobSpec = { jobId: 'j1', repoPath: '/tmp/repo', worktreePath: '/tmp/wt', branch: 'codeplane/j1', baseRef: 'main', agent: 'claude', prompt: 'do it', permissionMode: 'review_and_approve' };

const bash = (command: string): PermissionRequest => ({ toolName: 'Bash', kind: 'shell', summary: command, detail: { command, description: 'run it' } });
const held = (id: string, command: string): ApprovalRequest => ({ id, kind: 'shell', summary: command, detail: { command, description: 'as asked before' }, requestedAt: '2026-12-01T00:00:00.000Z', explicit: false, toolName: 'Bash' });

function run(heldApprovals: ApprovalRequest[]) {
  const state = { cb: undefined as AgentCallbacks | undefined, sent: [] as string[], firstMessage: undefined as string | null | undefined };
  const adapter: AgentAdapter = {
    id: 'claude',
    start: (opts) => {
      state.cb = opts.callbacks;
      state.firstMessage = opts.firstMessage;
      return { send: (c) => void state.sent.push(c), interrupt: async () => undefined, close: async () => undefined };
    },
  };
  let ids = 0;
  const agent = createAgentActor({ adapter, spec, env: {}, firstMessage: null, heldApprovals, newId: () => `new-${++ids}`, now: () => '2026-12-02T00:00:00.000Z' });
  const actor = createActor(jobMachine.provide({ actors: { agent: agent.logic } }), { input: { jobId: 'j1' } });
  const emitted: DraftEvent[] = [];
  actor.on('*', (e) => void emitted.push(e));
  actor.start();
  actor.send({ type: 'PREPARE' });
  actor.send({ type: 'START' });
  // The statechart waits for the held approvals, as a restored snapshot would.
  for (const a of heldApprovals) actor.send({ type: 'AGENT.APPROVAL_REQUESTED', approval: a });
  /** The decision, if one came at once; 'asked' when the user is asked instead (an approval_requested event). */
  const ask = (req: PermissionRequest): Promise<PermissionDecision | 'asked' | 'neither'> => {
    const before = emitted.length;
    const decision = state.cb!.requestPermission(req, new AbortController().signal);
    const asked = new Promise<'asked' | 'neither'>((r) => setImmediate(() => r(emitted.slice(before).some((e) => e.type === 'approval_requested') ? 'asked' : 'neither')));
    return Promise.race([decision, asked]);
  };
  return { state, actor, emitted, ask, stateOf: () => jobStateOf(actor.getSnapshot()) };
}

describe('held approvals in the agent actor', () => {
  it('opens the session idle, and tells the agent once every held approval is answered', () => {
    const { state, actor, stateOf } = run([held('h1', 'touch a'), held('h2', 'rm -rf build')]);
    assert.equal(state.firstMessage, null, 'no turn starts before the answers');
    assert.equal(stateOf(), 'waiting_for_approval');
    actor.send({ type: 'APPROVAL_DECIDED', approvalId: 'h1', resolution: 'approved' });
    assert.deepEqual(state.sent, [], 'one answer of two: the agent is not told yet');
    actor.send({ type: 'APPROVAL_DECIDED', approvalId: 'h2', resolution: 'rejected', note: 'keep the build' });
    assert.equal(state.sent.length, 1, 'one message with both answers');
    assert.match(state.sent[0]!, /APPROVED: Bash `touch a`/);
    assert.match(state.sent[0]!, /REJECTED: Bash `rm -rf build`\. Do not make this call\. The user's note: keep the build/);
    assert.equal(stateOf(), 'running');
  });

  it('the approved call, repeated, runs once without asking; again, or another call, is asked', async () => {
    const { actor, emitted, ask } = run([held('h1', 'touch a'), held('h2', 'rm -rf build')]);
    actor.send({ type: 'APPROVAL_DECIDED', approvalId: 'h1', resolution: 'approved' });
    actor.send({ type: 'APPROVAL_DECIDED', approvalId: 'h2', resolution: 'rejected' });
    assert.deepEqual(await ask(bash('touch a')), { behavior: 'allow' }, 'the repeated approved call (its description differs: not part of the match)');
    assert.ok(emitted.some((e) => e.type === 'log_line' && /allowed without asking again/.test(e.message)));
    assert.equal(await ask(bash('touch a')), 'asked', 'the grant was used up');
    assert.equal(await ask(bash('rm -rf build')), 'asked', 'the rejected call gets no grant');
    assert.equal(emitted.filter((e) => e.type === 'approval_requested').length, 2 + 2, 'the two held ones, then the two asked now');
  });

  it('an unused grant lapses when the turn that told the agent ends', async () => {
    const { state, actor, emitted, ask } = run([held('h1', 'touch a')]);
    actor.send({ type: 'APPROVAL_DECIDED', approvalId: 'h1', resolution: 'approved' });
    state.cb!.turnEnded({ ok: true });
    assert.ok(emitted.some((e) => e.type === 'log_line' && /not repeated by the agent; the approval lapsed/.test(e.message)));
    actor.send({ type: 'FOLLOW_UP', content: 'go on' });
    assert.equal(await ask(bash('touch a')), 'asked', 'the next turn gets no grant');
  });
});
