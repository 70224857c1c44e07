import { batch, computed, signal } from '@preact/signals';
import type { Approval, Job, JobState } from '../../../api/contract.ts';
import { api, errorText } from '../api.ts';
import { assertNever, type WireEvent } from '../types.ts';
import { trackStream } from './connection.ts';
import { EventStream } from './event-stream.ts';

const ACTIVE: JobState[] = ['queued', 'preparing', 'running', 'waiting_for_approval', 'review'];
const FINISHED: JobState[] = ['completed', 'failed', 'canceled'];
const PAGE = 50;

export interface Activity {
  text: string;
  ts: string;
  streaming?: boolean;
}

/** Every job the dashboard knows, folded from the list endpoints and the global event stream. */
export const jobs = signal<ReadonlyMap<string, Job>>(new Map());
export const pendingApprovals = signal<ReadonlyMap<string, Approval>>(new Map());
export const diffStats = signal<ReadonlyMap<string, { additions: number; deletions: number; files: number }>>(new Map());
export const activity = signal<ReadonlyMap<string, Activity>>(new Map());
export const loaded = signal(false);
export const loadError = signal<string | null>(null);
export const finishedCursor = signal<string | null>(null);

export const approvalsByJob = computed(() => {
  const by = new Map<string, Approval[]>();
  for (const a of pendingApprovals.value.values()) by.set(a.jobId, [...(by.get(a.jobId) ?? []), a]);
  return by;
});

const withEntry = <K, V>(m: ReadonlyMap<K, V>, k: K, v: V): Map<K, V> => new Map(m).set(k, v);
const without = <K, V>(m: ReadonlyMap<K, V>, k: K): Map<K, V> => {
  const n = new Map(m);
  n.delete(k);
  return n;
};

export function upsertJob(job: Job): void {
  jobs.value = withEntry(jobs.value, job.id, job);
}

function patchJob(id: string, patch: (j: Job) => Job): void {
  const j = jobs.value.get(id);
  if (j) upsertJob(patch(j));
  else void refreshJob(id);
}

const refreshing = new Set<string>();
async function refreshJob(id: string): Promise<void> {
  if (refreshing.has(id)) return;
  refreshing.add(id);
  try {
    upsertJob(await api.job(id));
  } catch {
    /* a job deleted meanwhile: nothing to show */
  } finally {
    refreshing.delete(id);
  }
}

/** Folds one event into the dashboard state. */
export function foldDashboard(e: WireEvent): void {
  switch (e.type) {
    case 'job_created':
      if (!jobs.value.has(e.jobId)) void refreshJob(e.jobId);
      return;
    case 'job_state_changed':
      patchJob(e.jobId, (j) => ({
        ...j,
        state: e.to,
        updatedAt: e.ts,
        ...(FINISHED.includes(e.to) ? { completedAt: e.ts } : {}),
        ...(e.to === 'failed' && e.reason ? { failureReason: e.reason } : {}),
      }));
      // Usage and resolution are final at these points: take them from the server.
      if (e.to === 'review' || FINISHED.includes(e.to)) void refreshJob(e.jobId);
      return;
    case 'approval_requested':
      pendingApprovals.value = withEntry(pendingApprovals.value, e.approval.id, { ...e.approval, jobId: e.jobId });
      return;
    case 'approval_resolved':
      pendingApprovals.value = without(pendingApprovals.value, e.approvalId);
      return;
    case 'transcript_update': {
      const { entry } = e;
      if (entry.role === 'tool_result') return;
      if (entry.role === 'agent_delta') {
        // Streamed text: show its tail while the message is being written.
        const prev = activity.value.get(e.jobId);
        const all = `${prev?.streaming ? prev.text : ''}${entry.text ?? ''}`;
        const tail = all.length > 200 ? all.slice(-200).replace(/^\S*\s+/, '') : all;
        activity.value = withEntry(activity.value, e.jobId, { text: tail, ts: e.ts, streaming: true });
        return;
      }
      const wt = jobs.value.get(e.jobId)?.worktreePath;
      const input = summarizeInput(entry.toolInput);
      const text = entry.role === 'tool_call' ? `${entry.toolName ?? 'tool'} ${wt && input.startsWith(`${wt}/`) ? input.slice(wt.length + 1) : input}` : (entry.text ?? '');
      if (text.trim()) activity.value = withEntry(activity.value, e.jobId, { text: text.trim().slice(0, 200), ts: e.ts });
      return;
    }
    case 'diff_update':
      diffStats.value = withEntry(diffStats.value, e.jobId, e.stats);
      return;
    case 'session_started':
      patchJob(e.jobId, (j) => ({ ...j, agentSessionId: e.agentSessionId, ...(e.model ? { model: e.model } : {}) }));
      return;
    case 'job_resolved':
      patchJob(e.jobId, (j) => ({ ...j, resolution: e.resolution, ...(e.prUrl ? { prUrl: e.prUrl } : {}) }));
      return;
    case 'job_restarted': {
      // The held approvals now wait on an interrupted turn: their cards say so.
      let next = pendingApprovals.value;
      for (const id of e.heldApprovals ?? []) {
        const a = next.get(id);
        if (a) next = withEntry(next, id, { ...a, interruptedAt: e.ts });
      }
      pendingApprovals.value = next;
      return;
    }
    case 'telemetry':
    case 'log_line':
    case 'containment_alarm':
      return;
    default:
      assertNever(e);
  }
}

export function summarizeInput(input: unknown): string {
  if (typeof input !== 'object' || input === null) return '';
  const o = input as Record<string, unknown>;
  const v = o['command'] ?? o['file_path'] ?? o['path'] ?? o['url'] ?? o['pattern'];
  return typeof v === 'string' ? v : '';
}

let buffered: WireEvent[] | null = null;

/** Reloads the lists; events that arrive meanwhile are folded on top (folding is idempotent for state). */
export async function resync(): Promise<void> {
  buffered ??= [];
  try {
    const [active, finished, approvals] = await Promise.all([
      api.jobs({ states: ACTIVE, limit: 200 }),
      api.jobs({ states: FINISHED, limit: PAGE }),
      api.pendingApprovals(),
    ]);
    const events = buffered;
    buffered = null;
    batch(() => {
      jobs.value = new Map([...active.items, ...finished.items].map((j) => [j.id, j]));
      pendingApprovals.value = new Map(approvals.map((a) => [a.id, a]));
      finishedCursor.value = finished.nextCursor;
      loaded.value = true;
      loadError.value = null;
      for (const e of events) foldDashboard(e);
    });
  } catch (e) {
    const events = buffered ?? [];
    buffered = null;
    loadError.value = errorText(e);
    for (const e2 of events) foldDashboard(e2);
  }
}

export async function loadMoreFinished(): Promise<void> {
  const cursor = finishedCursor.value;
  if (!cursor) return;
  const page = await api.jobs({ states: FINISHED, limit: PAGE, cursor });
  batch(() => {
    const m = new Map(jobs.value);
    for (const j of page.items) if (!m.has(j.id)) m.set(j.id, j);
    jobs.value = m;
    finishedCursor.value = page.nextCursor;
  });
}

let stream: EventStream | undefined;

/** Opens the one global event stream (idempotent). */
export function startDashboardStream(): void {
  if (stream) return;
  stream = new EventStream({
    path: '/api/events',
    onEvent: (e) => (buffered ? buffered.push(e) : foldDashboard(e)),
    onResync: () => void resync(),
  });
  trackStream(stream);
}
