import { useSignal } from '@preact/signals';
import * as f from '../models/new-job-form.ts';
import { Field } from './Field.tsx';

/** The registered repositories, and a way to register another one by its path. */
export function RepoPicker() {
  const adding = useSignal(false);
  const list = f.repos.value;
  const e = f.errors.value;
  const showAdd = adding.value || (list !== null && list.length === 0);
  return (
    <Field id="repo" label="Repository" error={e.repo} hint={f.selectedRepo.value?.path}>
      <div class="repo-row">
        <select id="repo" name="repo" value={f.form.repo.value} disabled={list === null || list.length === 0} aria-invalid={!!e.repo}
          onChange={(ev) => { f.form.repo.value = ev.currentTarget.value; f.clearError('repo'); }}>
          {list === null && <option>Loading…</option>}
          {list?.length === 0 && <option value="">No repositories registered</option>}
          {list?.map((r) => <option key={r.id} value={r.id}>{r.name}</option>)}
        </select>
        {!showAdd && <button type="button" class="btn ghost" onClick={() => (adding.value = true)}>Add…</button>}
      </div>
      {showAdd && (
        <div class={`add-repo${e.path ? ' has-error' : ''}`}>
          <label for="repo-path" class="sr-only">Path of a git repository</label>
          <input id="repo-path" value={f.newRepoPath.value} placeholder="/path/to/a/git/repository" autocomplete="off" spellcheck={false}
            onInput={(ev) => { f.newRepoPath.value = ev.currentTarget.value; f.clearError('path'); }}
            onKeyDown={(ev) => { if (ev.key === 'Enter') { ev.preventDefault(); void f.addRepo(); } }} />
          <button type="button" class="btn" disabled={f.addingRepo.value} onClick={() => void f.addRepo()}>{f.addingRepo.value ? 'Adding…' : 'Add repository'}</button>
          {e.path && <p class="field-error" role="alert">{e.path}</p>}
        </div>
      )}
    </Field>
  );
}
