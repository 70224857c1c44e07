import { useSignal } from '@preact/signals';
import type { JobModel } from '../models/job-model.ts';

/**
 * Discard for a job that ended without landing (failed, canceled): its worktree and branch are
 * removed. Two clicks, like the review panel's discard: it deletes the agent's work.
 */
export function DiscardButton({ model }: { model: JobModel }) {
  const confirm = useSignal(false);
  const busy = model.resolve.busy.value;
  return confirm.value ? (
    <button type="button" class="btn danger" disabled={!!busy} onClick={() => void model.resolve.run('discard')} data-action="confirm-discard">
      {busy === 'discard' ? 'Discarding…' : 'Really discard?'}
    </button>
  ) : (
    <button type="button" class="btn danger-outline" disabled={!!busy} onClick={() => (confirm.value = true)} data-action="discard" title="Remove the job's worktree and branch">
      Discard
    </button>
  );
}
