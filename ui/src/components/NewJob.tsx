import { useEffect } from 'preact/hooks';
import type { AgentId, PermissionMode } from '../../../api/contract.ts';
import * as f from '../models/new-job-form.ts';
import type { AgentInfo } from '../types.ts';
import { navigate, jobPath } from '../router.ts';
import { Field } from './Field.tsx';
import { RepoPicker } from './RepoPicker.tsx';

export function NewJob() {
  useEffect(() => {
    document.title = 'New job · CodePlane';
    void f.loadFormData();
  }, []);
  const e = f.errors.value;
  const agent = f.selectedAgent.value;
  const modelList = f.models.value.get(f.form.agent.value);
  const onSubmit = async (ev: Event) => {
    ev.preventDefault();
    const job = await f.submit();
    if (job) navigate(jobPath(job.id));
  };
  const onKey = (ev: KeyboardEvent) => {
    if (ev.key === 'Enter' && (ev.metaKey || ev.ctrlKey)) void onSubmit(ev);
  };
  return (
    <div class="page narrow">
      <h1 class="page-title">New job</h1>
      <form class="form" onSubmit={onSubmit} onKeyDown={onKey} noValidate>
        {f.formError.value && <p class="banner error" role="alert">{f.formError.value}</p>}
        <RepoPicker />
        <Field id="prompt" label="Task" error={e.prompt} hint="What should the agent do? Ctrl+Enter starts the job.">
          <textarea id="prompt" name="prompt" rows={6} value={f.form.prompt.value} placeholder="e.g. Add input validation to the signup form and cover it with tests"
            onInput={(ev) => { f.form.prompt.value = ev.currentTarget.value; f.clearError('prompt'); }} aria-invalid={!!e.prompt} />
        </Field>
        <div class="grid-2">
          <Field id="agent" label="Agent" error={e.agent} hint={agentHint(agent, f.agentsFallback.value)}>
            <select id="agent" name="agent" value={f.form.agent.value} onChange={(ev) => f.setAgent(ev.currentTarget.value as AgentId)}>
              {f.agents.value.map((a) => (
                <option key={a.id} value={a.id} disabled={!a.available}>
                  {a.name}{a.available ? '' : ' (not installed)'}{a.authenticated === false ? ' (not signed in)' : ''}
                </option>
              ))}
            </select>
          </Field>
          <Field id="model" label="Model" optional error={e.model} hint={modelList ? undefined : "Free text; empty uses the agent's default."}>
            {modelList && modelList.length > 0 ? (
              <select id="model" name="model" value={f.form.model.value} onChange={(ev) => (f.form.model.value = ev.currentTarget.value)}>
                <option value="">Agent default</option>
                {modelList.map((m) => <option key={m.id} value={m.id}>{m.name}</option>)}
              </select>
            ) : (
              <input id="model" name="model" value={f.form.model.value} placeholder="default" autocomplete="off" onInput={(ev) => { f.form.model.value = ev.currentTarget.value; f.clearError('model'); }} />
            )}
          </Field>
          <Field id="baseRef" label="Base ref" optional error={e.baseRef} hint="Branch or commit the job starts from.">
            <input id="baseRef" name="baseRef" value={f.form.baseRef.value} placeholder={f.selectedRepo.value?.defaultBranch ?? 'main'} autocomplete="off" spellcheck={false}
              onInput={(ev) => { f.form.baseRef.value = ev.currentTarget.value; f.clearError('baseRef'); }} />
          </Field>
          <Field id="branch" label="Branch" optional error={e.branch} hint="Created for the job; generated when empty.">
            <input id="branch" name="branch" value={f.form.branch.value} placeholder="codeplane/…" autocomplete="off" spellcheck={false}
              onInput={(ev) => { f.form.branch.value = ev.currentTarget.value; f.clearError('branch'); }} />
          </Field>
        </div>
        <fieldset class="field modes" data-field="permissionMode">
          <legend>Permission mode</legend>
          {f.PERMISSION_MODES.map((m) => (
            <label key={m.id} class={`mode${f.form.permissionMode.value === m.id ? ' checked' : ''}`}>
              <input type="radio" name="permissionMode" value={m.id} checked={f.form.permissionMode.value === m.id} onChange={() => (f.form.permissionMode.value = m.id as PermissionMode)} />
              <span><strong>{m.label}</strong><span class="hint">{m.hint}</span></span>
            </label>
          ))}
          {e.permissionMode && <p class="field-error" role="alert">{e.permissionMode}</p>}
        </fieldset>
        <div class="form-actions">
          <a class="btn ghost" href="/">Cancel</a>
          <button type="submit" class="btn primary" disabled={f.submitting.value}>{f.submitting.value ? 'Starting…' : 'Start job'}</button>
        </div>
      </form>
    </div>
  );
}

function agentHint(a: AgentInfo | null, fallback: boolean): string | undefined {
  if (!a) return undefined;
  if (a.hint) return a.hint;
  if (fallback) return 'Availability unknown: this server does not report agents yet.';
  return a.version ? `Version ${a.version}` : undefined;
}
