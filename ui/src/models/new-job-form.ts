import { batch, computed, signal } from '@preact/signals';
import type { AgentId, Job, PermissionMode, Repo } from '../../../api/contract.ts';
import { ApiError, api, errorText } from '../api.ts';
import type { AgentInfo, ModelInfo } from '../types.ts';

export type Field = 'repo' | 'prompt' | 'agent' | 'model' | 'baseRef' | 'branch' | 'permissionMode' | 'path';

/** Used when GET /api/agents is not there (404): both agents, availability unknown. */
export const FALLBACK_AGENTS: AgentInfo[] = [
  { id: 'claude', name: 'Claude Code', available: true, authenticated: null },
  { id: 'copilot', name: 'GitHub Copilot', available: true, authenticated: null },
];

export const PERMISSION_MODES: { id: PermissionMode; label: string; hint: string }[] = [
  { id: 'review_and_approve', label: 'Review and approve', hint: 'Risky actions wait for your approval.' },
  { id: 'full_auto', label: 'Full auto', hint: 'Everything inside the worktree runs without asking; hard gates still ask.' },
  { id: 'observe_only', label: 'Observe only', hint: 'The agent may read but every change asks first.' },
];

const LAST = 'cpl.newJob';
const remembered = ((): { repo?: string; agent?: AgentId; permissionMode?: PermissionMode } => {
  try {
    return JSON.parse(localStorage.getItem(LAST) ?? '{}') as never;
  } catch {
    return {};
  }
})();

export const repos = signal<Repo[] | null>(null);
export const agents = signal<AgentInfo[]>(FALLBACK_AGENTS);
export const agentsFallback = signal(true);
/** Models per agent; null: the server has no list (free text). */
export const models = signal<ReadonlyMap<string, ModelInfo[] | null>>(new Map());

export const form = {
  repo: signal(remembered.repo ?? ''),
  prompt: signal(''),
  agent: signal<AgentId>(remembered.agent ?? 'claude'),
  model: signal(''),
  baseRef: signal(''),
  branch: signal(''),
  permissionMode: signal<PermissionMode>(remembered.permissionMode ?? 'review_and_approve'),
};
export const errors = signal<Partial<Record<Field, string>>>({});
export const formError = signal<string | null>(null);
export const submitting = signal(false);
export const newRepoPath = signal('');
export const addingRepo = signal(false);

export const selectedRepo = computed(() => repos.value?.find((r) => r.id === form.repo.value || r.path === form.repo.value) ?? null);
export const selectedAgent = computed(() => agents.value.find((a) => a.id === form.agent.value) ?? null);

/** Repositories and agents load independently: a slow agent probe must not hold the form back. */
export async function loadFormData(): Promise<void> {
  const reposLoaded = api.repos().then(
    (list) =>
      batch(() => {
        repos.value = list;
        if (!list.some((x) => x.id === form.repo.value) && list[0]) form.repo.value = list[0].id;
      }),
    (e: unknown) =>
      batch(() => {
        repos.value = [];
        formError.value = errorText(e);
      }),
  );
  const agentsLoaded = api.agents().then(
    (list) =>
      batch(() => {
        agentsFallback.value = false;
        if (list.length) agents.value = list;
        if (!list.some((a) => a.id === form.agent.value && a.available)) {
          const first = list.find((a) => a.available);
          if (first) form.agent.value = first.id;
        }
      }),
    () => (agentsFallback.value = true),
  );
  void loadModels(form.agent.value);
  await Promise.all([reposLoaded, agentsLoaded]);
}

export async function loadModels(agent: string): Promise<void> {
  if (models.value.has(agent)) return;
  let list: ModelInfo[] | null = null;
  try {
    list = await api.models(agent);
  } catch {
    list = null; // not built yet, or the agent cannot list models: free text
  }
  models.value = new Map(models.value).set(agent, list);
}

export function setAgent(id: AgentId): void {
  batch(() => {
    form.agent.value = id;
    form.model.value = '';
  });
  void loadModels(id);
}

export function clearError(f: Field): void {
  if (errors.value[f]) errors.value = { ...errors.value, [f]: undefined };
}

export async function addRepo(): Promise<void> {
  const path = newRepoPath.value.trim();
  if (!path) return void (errors.value = { ...errors.value, path: 'Enter the path of a git repository on this machine.' });
  addingRepo.value = true;
  try {
    const repo = await api.addRepo(path);
    batch(() => {
      repos.value = [...(repos.value ?? []).filter((r) => r.id !== repo.id), repo];
      form.repo.value = repo.id;
      newRepoPath.value = '';
      errors.value = { ...errors.value, path: undefined, repo: undefined };
    });
  } catch (e) {
    errors.value = { ...errors.value, path: errorText(e) };
  } finally {
    addingRepo.value = false;
  }
}

/** Validates locally what the server would refuse anyway, then creates the job. Returns it on success. */
export async function submit(): Promise<Job | null> {
  const local: Partial<Record<Field, string>> = {};
  if (!form.repo.value) local.repo = 'Choose a repository (or add one by path).';
  if (!form.prompt.value.trim()) local.prompt = 'Describe the task for the agent.';
  if (Object.keys(local).length) {
    errors.value = local;
    return null;
  }
  batch(() => {
    submitting.value = true;
    errors.value = {};
    formError.value = null;
  });
  const opt = (v: string) => (v.trim() ? v.trim() : undefined);
  try {
    const job = await api.createJob({
      repo: form.repo.value,
      prompt: form.prompt.value,
      agent: form.agent.value,
      model: opt(form.model.value),
      baseRef: opt(form.baseRef.value),
      branch: opt(form.branch.value),
      permissionMode: form.permissionMode.value,
    });
    localStorage.setItem(LAST, JSON.stringify({ repo: form.repo.value, agent: form.agent.value, permissionMode: form.permissionMode.value }));
    batch(() => {
      form.prompt.value = '';
      form.branch.value = '';
    });
    return job;
  } catch (e) {
    const field = e instanceof ApiError ? (e.field as Field | undefined) : undefined;
    if (field && field in form) errors.value = { [field]: e instanceof Error ? e.message : String(e) };
    else formError.value = errorText(e);
    return null;
  } finally {
    submitting.value = false;
  }
}
