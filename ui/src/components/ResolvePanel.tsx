import { useSignal } from '@preact/signals';
import type { Job } from '../../../api/contract.ts';
import type { JobModel } from '../models/job-model.ts';

/** Merge / create PR / discard for a job in review; merge conflicts listed with "resolve with agent". */
export function ResolvePanel({ model, job }: { model: JobModel; job: Job }) {
  const r = model.resolve;
  const confirmDiscard = useSignal(false);
  if (job.state !== 'review' || job.resolution) return null;
  const busy = r.busy.value;
  const conflicts = r.conflicts.value;
  return (
    <section class="resolve" aria-label="Resolve the job">
      <div class="resolve-row">
        <div class="resolve-text">
          <strong>Ready for review.</strong> <span class="muted">Land the changes on {job.baseRef}, open a pull request, or throw them away.</span>
        </div>
        <div class="btn-row">
          <button type="button" class="btn primary" disabled={!!busy} onClick={() => void r.run('merge')} data-action="merge">
            {busy === 'merge' ? 'Merging…' : 'Merge'}
          </button>
          <button type="button" class="btn" disabled={!!busy} onClick={() => void r.run('create_pr')} data-action="create-pr">
            {busy === 'create_pr' ? 'Creating PR…' : 'Create PR'}
          </button>
          {confirmDiscard.value ? (
            <button type="button" class="btn danger" disabled={!!busy} onClick={() => void r.run('discard')} data-action="confirm-discard">
              {busy === 'discard' ? 'Discarding…' : 'Really discard?'}
            </button>
          ) : (
            <button type="button" class="btn danger-outline" disabled={!!busy} onClick={() => (confirmDiscard.value = true)} data-action="discard">
              Discard
            </button>
          )}
        </div>
      </div>
      {r.error.value && !conflicts && <p class="field-error" role="alert">{r.error.value}</p>}
      {r.result.value?.message && <p class="muted">{r.result.value.message}</p>}
      {conflicts && (
        <div class="conflicts" role="alert">
          <p><strong>Merge conflicts</strong> {conflicts.length > 0 ? `in ${conflicts.length} ${conflicts.length === 1 ? 'file' : 'files'}` : ''}: nothing was changed in your checkout.</p>
          <ul>{conflicts.map((f) => <li key={f}><code>{f}</code></li>)}</ul>
          {/* The server writes the follow-up (it knows the files and the base): the UI only sends it. */}
          {r.agentPrompt.value && (
            <button type="button" class="btn" disabled={!!model.busy.value} onClick={() => void model.send(r.agentPrompt.value!)} data-action="resolve-with-agent">
              Resolve with agent
            </button>
          )}
        </div>
      )}
    </section>
  );
}
