import { useSignal } from '@preact/signals';
import type { Approval } from '../../../api/contract.ts';
import { answerApproval, answered, answerErrors, answering } from '../models/approval-actions.ts';
import { time } from '../format.ts';
import { ApprovalDetail } from './ApprovalDetail.tsx';

const KIND: Record<Approval['kind'], string> = {
  shell: 'Run a command',
  write: 'Change a file',
  read: 'Read a file',
  url: 'Fetch a URL',
  mcp: 'Use an MCP tool',
  other: 'Use a tool',
};

/** What the agent wants to do, with Approve / Reject and an optional note. */
export function ApprovalCard({ approval, compact = false, worktree }: { approval: Approval; compact?: boolean; worktree?: string | undefined }) {
  const note = useSignal('');
  const showNote = useSignal(!compact);
  const a = answered.value.get(approval.id) ?? approval;
  const busy = answering.value.get(approval.id);
  const error = answerErrors.value.get(approval.id);
  const resolved = a.resolution !== undefined;
  const answer = (r: 'approved' | 'rejected') => void answerApproval(approval, r, note.value);

  return (
    <section class={`approval${approval.explicit ? ' explicit' : ''}${resolved ? ` resolved ${a.resolution}` : ''}`} data-approval-id={approval.id} aria-label={`Approval: ${KIND[approval.kind]}`}>
      <header class="approval-head">
        <span class="approval-kind">{KIND[approval.kind]}</span>
        {approval.explicit && <span class="gate" title="Policy never auto-approves this action">Explicit approval required</span>}
        <time class="muted">{time(approval.requestedAt)}</time>
      </header>
      <ApprovalDetail approval={approval} compact={compact} worktree={worktree} />
      {!resolved && a.interruptedAt && (
        <p class="muted approval-interrupted">CodePlane restarted while this waited ({time(a.interruptedAt)}): the agent's turn was interrupted, and it resumes with your answer.</p>
      )}
      {resolved ? (
        <p class="approval-result">
          {a.resolution === 'approved' ? '✓ Approved' : '✕ Rejected'}
          {a.note ? <span class="muted"> · “{a.note}”</span> : null}
        </p>
      ) : (
        <div class="approval-actions">
          {showNote.value ? (
            <textarea class="note" rows={1} placeholder="Note for the agent (optional)" aria-label="Note for the agent" value={note.value} onInput={(e) => (note.value = e.currentTarget.value)} />
          ) : (
            <button type="button" class="btn ghost" onClick={() => (showNote.value = true)}>Add note</button>
          )}
          <div class="btn-row">
            <button type="button" class="btn danger-outline" disabled={!!busy} onClick={() => answer('rejected')} data-action="reject">
              {busy === 'rejected' ? 'Rejecting…' : 'Reject'}
            </button>
            <button type="button" class="btn approve" disabled={!!busy} onClick={() => answer('approved')} data-action="approve">
              {busy === 'approved' ? 'Approving…' : 'Approve'}
            </button>
          </div>
        </div>
      )}
      {error && <p class="field-error" role="alert">{error}</p>}
    </section>
  );
}
