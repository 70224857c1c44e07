import { fromCallback } from 'xstate';
import type { ApprovalRequest, DraftEvent } from '../machines/domain-events.ts';
import type { AgentCommand, JobMachineEvent } from '../machines/job-events.ts';
import type { JobSpec } from '../machines/job-spec.ts';
import type { AgentActorInput } from '../machines/job.machine.ts';
import type { AgentAdapter, AgentCallbacks, PermissionDecision } from './agents/adapter.ts';
import type { AgentSandbox } from './sandbox/agent-sandbox.ts';
import { UNSANDBOXED_NOTE } from './sandbox/sandbox-setting.ts';
import { decide, type FsFacts } from './policy/permission-policy.ts';
import { describeSilence, realClock, Watchdog, type Silence, type WatchdogClock } from './watchdog.ts';
import { readdirSync, realpathSync } from 'node:fs';
import { OneShotGrants } from './one-shot-grants.ts';
import { decisionMessage, type HeldAnswer } from './interrupted-approvals.ts';

export interface AgentActorDeps {
  adapter: AgentAdapter;
  spec: JobSpec;
  env: Record<string, string | undefined>;
  executablePath?: string;
  /** See AgentStartOptions.userConfig and agentHome. */
  userConfig?: boolean;
  agentHome?: string;
  /** See AgentStartOptions.sandbox. */
  sandbox?: AgentSandbox;
  /** The user turned the sandbox off: the transcript says so each time the agent starts. */
  unsandboxed?: boolean;
  /** See AgentStartOptions.firstMessage. */
  firstMessage?: string | null;
  /** When the agent's own session cannot be resumed: the first message of a fresh one (a summary of the job). */
  fallbackPrompt?: string;
  newId: () => string;
  now: () => string;
  /** Silence allowed while a turn runs before the agent is interrupted and the turn failed; 0 = off. */
  watchdogMs?: number;
  /** The same while a tool is in flight (a long build the user approved); 0 = a running tool is never timed out. */
  toolWatchdogMs?: number;
  /** How long the watchdog waits for the interrupted turn to end before failing it anyway. */
  watchdogGraceMs?: number;
  clock?: WatchdogClock;
  /**
   * Where streamed text deltas go straight to (the job's outbox) instead of
   * through the statechart. WHY: a delta changes no state, yet routing each
   * one through the machine (a macrostep, a new snapshot, an emit) was 40 %
   * of a streaming worker's CPU and most of its garbage. Only while the agent
   * actor lives, which is exactly while the machine is in the `active` state
   * that would have emitted it; everything else still goes through the machine.
   */
  emitDelta?: (draft: Extract<DraftEvent, { type: 'transcript_update' }>) => void;
  /**
   * Approvals an interrupted turn was waiting for that are still open (the job restarted in
   * waiting_for_approval): the session opens idle (firstMessage null), and once the user has
   * answered them all the agent is told the answers; an approved call gets a one-shot grant.
   */
  heldApprovals?: readonly ApprovalRequest[];
  /**
   * A value as the job's events store it (redacted: machines/redact.ts). A held approval is known
   * only as stored, so a repeated call is matched against its grant in that form too: the call the
   * user approved is the one they saw, secrets shown as placeholders.
   */
  asStored?: <T>(v: T) => T;
}

const REJECTED = 'The user rejected this action.';
/** How the CLIs say a session id is unknown (Claude: no conversation; Copilot: session not found). */
const SESSION_GONE = /No conversation found|Session not found|could not resume/i;

/** The failure reason the user reads when the watchdog fired. */
function silenceReason(s: Silence): string {
  if (s.tool) return `the ${s.tool.name} tool ran for ${describeSilence(s.limitMs)} without finishing; interrupted`;
  return `the agent produced no output for ${describeSilence(s.limitMs)}; interrupted`;
}

/** Lets the policy see through symlinks: a link inside the worktree may point outside it. */
const REALPATH: FsFacts = {
  realpath: (p) => {
    try {
      return realpathSync.native(p);
    } catch {
      return undefined;
    }
  },
  // For a glob such as `sort *`: a file named `--compress-program=sh` would become an option.
  entries: (dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return undefined;
    }
  },
};

/**
 * The agent as an XState callback actor: alive exactly while the job is
 * active (running, waiting for approval, review), so leaving those states
 * interrupts and closes the agent session. Bridges the adapter's permission
 * callback to approvals that the machine tracks and the user answers.
 */
export function createAgentActor(deps: AgentActorDeps) {
  let closedPromise: Promise<void> = Promise.resolve();

  const logic = fromCallback<AgentCommand, AgentActorInput, JobMachineEvent>(({ sendBack, receive, input }) => {
    const waiting = new Map<string, (d: PermissionDecision) => void>();
    /** Held approvals not answered yet, and the answers so far (see AgentActorDeps.heldApprovals). */
    const held = new Map((deps.heldApprovals ?? []).map((a) => [a.id, a]));
    const answers: HeldAnswer[] = [];
    const grants = new OneShotGrants();
    let closing = false;
    const clock = deps.clock ?? realClock;
    const watchdogMs = deps.watchdogMs ?? 0;
    /** Set when the watchdog fired: the reason the turn fails with. */
    let failReason: string | undefined;
    let graceTimer: unknown;
    const failSilentTurn = (): void => {
      if (failReason === undefined || closing) return;
      clock.clearTimer(graceTimer);
      sendBack({ type: 'AGENT.TURN_FAILED', reason: failReason });
    };
    const watchdog = new Watchdog(
      watchdogMs,
      (silence) => {
        const reason = silenceReason(silence);
        failReason = reason;
        sendBack({ type: 'AGENT.LOG', level: 'warn', message: `watchdog: ${reason}` });
        // A hung CLI may never acknowledge the interrupt: fail the turn after a grace period regardless.
        graceTimer = clock.setTimer(failSilentTurn, deps.watchdogGraceMs ?? Math.min(5000, watchdogMs));
        void session.interrupt().catch(() => undefined);
      },
      clock,
      deps.toolWatchdogMs,
    );

    const requestPermission: AgentCallbacks['requestPermission'] = (req, signal) => {
      const verdict = decide(deps.spec.permissionMode, req, deps.spec.worktreePath, REALPATH);
      if (verdict.action === 'allow') return Promise.resolve({ behavior: 'allow' });
      if (verdict.action === 'deny') return Promise.resolve({ behavior: 'deny', message: verdict.message });
      // The detail as an approval stores it: a grant is matched against the approval the user answered.
      const detail = verdict.reason ? { ...req.detail, reason: verdict.reason } : req.detail;
      // Only a call the policy would ask about is granted; a hard deny above stays a deny.
      if (grants.take({ toolName: req.toolName, kind: req.kind, detail: deps.asStored ? deps.asStored(detail) : detail })) {
        sendBack({ type: 'AGENT.LOG', level: 'info', message: `allowed without asking again (approved before the restart): ${req.summary}` });
        return Promise.resolve({ behavior: 'allow' });
      }
      const approval: ApprovalRequest = {
        id: deps.newId(),
        kind: req.kind,
        summary: req.summary,
        detail,
        requestedAt: deps.now(),
        explicit: verdict.explicit,
        toolName: req.toolName,
      };
      // The user's think time is not the agent's silence.
      watchdog.pause();
      return new Promise<PermissionDecision>((resolve) => {
        waiting.set(approval.id, resolve);
        signal.addEventListener(
          'abort',
          () => {
            if (!waiting.delete(approval.id)) return;
            if (!closing) sendBack({ type: 'AGENT.APPROVAL_WITHDRAWN', approvalId: approval.id, reason: 'withdrawn: the agent canceled the request' });
            resolve({ behavior: 'deny', message: 'The request was withdrawn.' });
          },
          { once: true },
        );
        sendBack({ type: 'AGENT.APPROVAL_REQUESTED', approval });
      }).finally(() => watchdog.resume());
    };

    /** Every callback from the adapter is a sign of life for the watchdog. */
    const alive =
      <A extends unknown[], R>(fn: (...args: A) => R) =>
      (...args: A): R => {
        watchdog.activity();
        return fn(...args);
      };

    /** A tool in flight is silent work, not a hang: the watchdog applies its tool limit until the result. */
    const trackTools = (entry: Parameters<AgentCallbacks['transcript']>[0]): void => {
      if (entry.toolCallId === undefined) return;
      if (entry.role === 'tool_call') watchdog.toolStarted(entry.toolCallId, entry.toolName ?? 'unknown');
      else if (entry.role === 'tool_result') watchdog.toolFinished(entry.toolCallId);
    };

    const callbacks: AgentCallbacks = {
      transcript: alive((entry) => {
        trackTools(entry);
        if (entry.role === 'agent_delta' && deps.emitDelta) {
          if (!closing) deps.emitDelta({ type: 'transcript_update', entry });
          return;
        }
        sendBack({ type: 'AGENT.TRANSCRIPT', entry });
      }),
      activity: () => watchdog.activity(),
      telemetry: alive((telemetry) => sendBack({ type: 'AGENT.TELEMETRY', telemetry })),
      log: alive((level, message) => sendBack({ type: 'AGENT.LOG', level, message })),
      sessionStarted: alive(({ agentSessionId, model }) =>
        sendBack(model === undefined ? { type: 'AGENT.SESSION', agentSessionId } : { type: 'AGENT.SESSION', agentSessionId, model })),
      requestPermission: alive(requestPermission),
      turnEnded: (outcome) => {
        watchdog.disarm();
        if (closing) return; // we interrupted it ourselves on the way out
        // The turn the watchdog interrupted fails with the watchdog's reason, unless it finished after all.
        if (failReason !== undefined && !outcome.ok) return failSilentTurn();
        clock.clearTimer(graceTimer);
        failReason = undefined;
        if (resuming && !outcome.ok && SESSION_GONE.test(outcome.reason) && deps.fallbackPrompt) {
          resuming = false;
          sendBack({ type: 'AGENT.TRANSCRIPT', entry: { role: 'system', text: "The agent's previous session could not be resumed; started a fresh session with a summary of the job so far." } });
          const gone = session;
          void gone.close();
          session = open(undefined, deps.fallbackPrompt);
          watchdog.arm();
          return;
        }
        resuming = false;
        // The turn the grants were given for is over: an approval never outlives it.
        const lapsed = grants.expire();
        if (lapsed) sendBack({ type: 'AGENT.LOG', level: 'info', message: `${lapsed} approved call(s) were not repeated by the agent; the approval lapsed` });
        if (outcome.ok) sendBack(outcome.summary === undefined ? { type: 'AGENT.TURN_COMPLETED' } : { type: 'AGENT.TURN_COMPLETED', summary: outcome.summary });
        else sendBack({ type: 'AGENT.TURN_FAILED', reason: outcome.reason });
      },
    };

    const open = (resumeSessionId: string | undefined, firstMessage: string | null | undefined) =>
      deps.adapter.start({
        spec: deps.spec,
        env: deps.env,
        callbacks,
        ...(resumeSessionId ? { resumeSessionId } : {}),
        ...(deps.executablePath ? { executablePath: deps.executablePath } : {}),
        ...(deps.userConfig !== undefined ? { userConfig: deps.userConfig } : {}),
        ...(deps.agentHome !== undefined ? { agentHome: deps.agentHome } : {}),
        ...(deps.sandbox ? { sandbox: deps.sandbox } : {}),
        ...(firstMessage !== undefined ? { firstMessage } : {}),
      });
    /** Once every held approval is answered: grant the approved calls and start the turn that tells the agent. */
    const answerHeld = (answer: HeldAnswer): void => {
      held.delete(answer.approval.id);
      answers.push(answer);
      if (held.size > 0) return;
      for (const a of answers) if (a.resolution === 'approved') grants.add({ ...(a.approval.toolName !== undefined ? { toolName: a.approval.toolName } : {}), kind: a.approval.kind, detail: a.approval.detail });
      if (failReason === undefined) watchdog.arm();
      session.send(decisionMessage(answers.splice(0)));
    };

    let resuming = !!input.agentSessionId;
    if (deps.unsandboxed) sendBack({ type: 'AGENT.TRANSCRIPT', entry: { role: 'system', text: UNSANDBOXED_NOTE } });
    let session = open(input.agentSessionId, deps.firstMessage);
    // A first message starts a turn; a session opened idle (restored in review) waits for one.
    if (deps.firstMessage !== null) watchdog.arm();

    receive((cmd) => {
      switch (cmd.type) {
        case 'SEND':
          if (failReason === undefined) watchdog.arm();
          session.send(cmd.content);
          return;
        case 'DECISION': {
          const resolve = waiting.get(cmd.approvalId);
          waiting.delete(cmd.approvalId);
          resolve?.(cmd.resolution === 'approved' ? { behavior: 'allow' } : { behavior: 'deny', message: cmd.note?.trim() || REJECTED });
          const approval = held.get(cmd.approvalId);
          if (approval) answerHeld({ approval, resolution: cmd.resolution, ...(cmd.note !== undefined ? { note: cmd.note } : {}) });
          return;
        }
      }
    });

    return () => {
      closing = true;
      watchdog.stop();
      clock.clearTimer(graceTimer);
      for (const resolve of waiting.values()) resolve({ behavior: 'deny', message: 'The job was stopped.' });
      waiting.clear();
      // After the watchdog fired the agent is hung: another interrupt would only wait; close it.
      const interrupted = failReason !== undefined ? Promise.resolve() : session.interrupt().catch(() => undefined);
      closedPromise = interrupted.then(() => session.close());
    };
  });

  return { logic, closed: () => closedPromise };
}
