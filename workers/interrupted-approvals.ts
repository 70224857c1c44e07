/**
 * Approvals that outlived the turn that asked for them (see one-shot-grants.ts). The worker
 * that continues such a job holds them until the user has answered every one, then tells the
 * agent the answers in one message: that message starts the agent's next turn. Pure.
 */
import type { ApprovalRequest, ApprovalResolution } from '../machines/domain-events.ts';

export interface HeldAnswer {
  approval: ApprovalRequest;
  resolution: ApprovalResolution;
  note?: string;
}

const quote = (s: string): string => (s.includes('\n') ? `\n${s.split('\n').map((l) => `    ${l}`).join('\n')}` : ` \`${s}\``);

/** What the call was, in the words the user saw when approving it. */
function describe(a: ApprovalRequest): string {
  const command = typeof a.detail['command'] === 'string' ? a.detail['command'] : undefined;
  return `${a.toolName ?? a.kind}${quote(command ?? a.summary)}`;
}

/** The message the resumed agent gets: each answer, and what to do with it. */
export function decisionMessage(answers: readonly HeldAnswer[]): string {
  const lines = answers.map(({ approval, resolution, note }) =>
    resolution === 'approved'
      ? `- APPROVED: ${describe(approval)}. Make this same call again now, with exactly the same input: it will run without asking again (once).`
      : `- REJECTED: ${describe(approval)}. Do not make this call.${note?.trim() ? ` The user's note: ${note.trim()}` : ''}`,
  );
  return [
    'Your previous turn was interrupted while you waited for the user to approve a tool call (CodePlane was stopped or restarted). The user has now answered:',
    ...lines,
    'Continue the task from there.',
  ].join('\n');
}
