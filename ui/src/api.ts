/** Typed fetch wrapper over CONTRACT.md. Imports only types from the server. */
import type { AgentId, ApiErrorBody, Approval, Health, Job, JobPage, JobSnapshot, JobState, PermissionMode, Repo, TranscriptEntry } from '../../api/contract.ts';
import { sessionExpired } from './session.ts';
import type { AgentInfo, JobDiff, LogLine, ModelInfo, ResolveAction, ResolveResult } from './types.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  get notFound(): boolean {
    return this.status === 404;
  }
}

function isErrorBody(x: unknown): x is ApiErrorBody {
  return typeof x === 'object' && x !== null && 'error' in x && typeof (x as ApiErrorBody).error?.code === 'string';
}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal ? { signal } : {}),
      credentials: 'same-origin',
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError(0, 'NETWORK', 'The server cannot be reached.');
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    if (res.status === 401) sessionExpired();
    if (isErrorBody(parsed)) {
      const { code, message, field, details } = parsed.error;
      throw new ApiError(res.status, code, message, field, details);
    }
    throw new ApiError(res.status, `HTTP_${res.status}`, `${method} ${path} failed (${res.status})`);
  }
  return parsed as T;
}

const enc = encodeURIComponent;

export interface CreateJobInput {
  repo: string;
  prompt: string;
  agent: AgentId;
  model?: string;
  baseRef?: string;
  branch?: string;
  permissionMode?: PermissionMode;
}

export const api = {
  health: () => request<Health>('GET', '/api/health'),
  jobs: (q: { states?: JobState[]; limit?: number; cursor?: string }) => {
    const p = new URLSearchParams();
    if (q.states) p.set('state', q.states.join(','));
    if (q.limit) p.set('limit', String(q.limit));
    if (q.cursor) p.set('cursor', q.cursor);
    return request<JobPage>('GET', `/api/jobs?${p}`);
  },
  job: (id: string) => request<Job>('GET', `/api/jobs/${enc(id)}`),
  snapshot: (id: string) => request<JobSnapshot>('GET', `/api/jobs/${enc(id)}/snapshot`),
  transcript: (id: string, before: number | undefined, limit: number) =>
    request<TranscriptEntry[]>('GET', `/api/jobs/${enc(id)}/transcript?limit=${limit}${before !== undefined ? `&before=${before}` : ''}`),
  logs: (id: string, limit = 1000) => request<LogLine[]>('GET', `/api/jobs/${enc(id)}/logs?limit=${limit}`),
  diff: (id: string, offset = 0) => request<JobDiff>('GET', `/api/jobs/${enc(id)}/diff${offset ? `?offset=${offset}` : ''}`),
  createJob: (input: CreateJobInput) => request<Job>('POST', '/api/jobs', input),
  sendMessage: (id: string, content: string) => request<unknown>('POST', `/api/jobs/${enc(id)}/messages`, { content }),
  cancel: (id: string) => request<Job>('POST', `/api/jobs/${enc(id)}/cancel`, {}),
  resume: (id: string, instruction?: string) => request<Job>('POST', `/api/jobs/${enc(id)}/resume`, instruction ? { instruction } : {}),
  resolve: (id: string, action: ResolveAction) => request<ResolveResult>('POST', `/api/jobs/${enc(id)}/resolve`, { action }),
  repos: () => request<Repo[]>('GET', '/api/repos'),
  addRepo: (path: string) => request<Repo>('POST', '/api/repos', { path }),
  agents: () => request<AgentInfo[]>('GET', '/api/agents'),
  models: (agent: string) => request<ModelInfo[]>('GET', `/api/agents/${enc(agent)}/models`),
  pendingApprovals: () => request<Approval[]>('GET', '/api/approvals?state=pending'),
  jobApprovals: (jobId: string) => request<Approval[]>('GET', `/api/approvals?jobId=${enc(jobId)}`),
  resolveApproval: (id: string, resolution: 'approved' | 'rejected', note?: string) =>
    request<Approval>('POST', `/api/approvals/${enc(id)}/resolve`, note ? { resolution, note } : { resolution }),
  pushKey: () => request<{ publicKey: string }>('GET', '/api/push/vapid-public-key'),
  addPushSubscription: (sub: PushSubscriptionJSON) => request<{ endpoint: string }>('POST', '/api/push/subscriptions', sub),
  removePushSubscription: (endpoint: string) => request<undefined>('DELETE', '/api/push/subscriptions', { endpoint }),
};

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
