import { batch, computed, signal } from '@preact/signals';
import type { Approval, ContainmentAlarmView, Job } from '../../../api/contract.ts';
import { api, errorText } from '../api.ts';
import { assertNever, type LogLine, type WireEvent } from '../types.ts';
import { answered } from './approval-actions.ts';
import { trackStream } from './connection.ts';
import { EventStream } from './event-stream.ts';
import { DiffModel } from './diff-model.ts';
import { ResolveModel } from './resolve-model.ts';
import { TranscriptModel } from './transcript-model.ts';

const TERMINAL = ['completed', 'failed', 'canceled'];

/** One job's page: snapshot first, then its event stream from the snapshot's last id. */
export class JobModel {
  readonly job = signal<Job | null>(null);
  readonly error = signal<string | null>(null);
  readonly approvals = signal<ReadonlyMap<string, Approval>>(new Map());
  readonly logs = signal<LogLine[] | null>(null);
  readonly diffStats = signal<{ files: number; additions: number; deletions: number } | null>(null);
  /** Bumped by every diff_update: the diff view refetches when it changes. */
  readonly diffVersion = signal(0);
  /** The job's containment alarms: from the snapshot, then live. */
  readonly alarms = signal<ContainmentAlarmView[]>([]);
  readonly busy = signal<string | null>(null);
  readonly actionError = signal<string | null>(null);
  readonly diff: DiffModel;
  readonly resolve: ResolveModel;
  transcript: TranscriptModel | null = null;
  private stream: EventStream | undefined;
  private untrack: (() => void) | undefined;
  private disposed = false;

  readonly pending = computed(() => [...this.approvals.value.values()].filter((a) => !a.resolution && !answered.value.has(a.id)));

  constructor(readonly id: string) {
    this.diff = new DiffModel(id);
    this.resolve = new ResolveModel(id);
  }

  async open(): Promise<void> {
    try {
      const [snap, all] = await Promise.all([api.snapshot(this.id), api.jobApprovals(this.id).catch(() => [] as Approval[])]);
      if (this.disposed) return;
      const t = new TranscriptModel(this.id, snap.job.prompt);
      t.reset(snap.transcript);
      if (snap.streaming) t.streaming.value = snap.streaming; // opened mid-message: the deltas so far
      t.placeAnswered(all);
      for (const a of snap.pendingApprovals) t.addItem({ kind: 'approval', key: `a${a.id}`, approvalId: a.id });
      batch(() => {
        this.transcript = t;
        this.approvals.value = new Map([...all, ...snap.pendingApprovals].map((a) => [a.id, a]));
        this.diffStats.value = snap.diff;
        this.alarms.value = snap.alarms ?? [];
        this.job.value = snap.job;
      });
      this.stream = new EventStream({ path: `/api/events?jobId=${encodeURIComponent(this.id)}`, lastEventId: snap.lastEventId, onEvent: (e) => this.fold(e) });
      this.untrack = trackStream(this.stream);
    } catch (e) {
      this.error.value = errorText(e);
    }
  }

  dispose(): void {
    this.disposed = true;
    this.stream?.close();
    this.untrack?.();
  }

  private patch(p: (j: Job) => Job): void {
    const j = this.job.value;
    if (j) this.job.value = p(j);
  }

  fold(e: WireEvent): void {
    const t = this.transcript;
    switch (e.type) {
      case 'job_state_changed':
        this.patch((j) => ({
          ...j,
          state: e.to,
          updatedAt: e.ts,
          completedAt: TERMINAL.includes(e.to) ? e.ts : undefined,
          failureReason: e.to === 'failed' ? e.reason : e.from === 'failed' ? undefined : j.failureReason,
        }) as Job);
        if (e.to === 'failed') t?.addItem({ kind: 'note', key: `n${e.seq}`, tone: 'error', text: `Job failed${e.reason ? `: ${e.reason}` : ''}` });
        else if (e.to === 'review') t?.addItem({ kind: 'note', key: `n${e.seq}`, tone: 'success', text: 'The agent finished its turn: the job is ready for review.' });
        else if (e.to === 'canceled') t?.addItem({ kind: 'note', key: `n${e.seq}`, tone: 'info', text: 'Job canceled.' });
        return;
      case 'transcript_update':
        t?.add(e.entry);
        return;
      case 'approval_requested':
        this.approvals.value = new Map(this.approvals.value).set(e.approval.id, { ...e.approval, jobId: e.jobId });
        t?.addItem({ kind: 'approval', key: `a${e.approval.id}`, approvalId: e.approval.id });
        return;
      case 'approval_resolved': {
        const a = this.approvals.value.get(e.approvalId);
        if (a) this.approvals.value = new Map(this.approvals.value).set(a.id, { ...a, resolution: e.resolution, resolvedAt: e.ts, ...(e.note ? { note: e.note } : {}) });
        return;
      }
      case 'log_line':
        if (this.logs.value) this.logs.value = [...this.logs.value, { seq: e.seq, ts: e.ts, level: e.level, message: e.message }];
        return;
      case 'diff_update':
        batch(() => {
          this.diffStats.value = e.stats;
          this.diffVersion.value++;
        });
        return;
      case 'telemetry':
        this.patch((j) => {
          const u = j.usage ?? { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, costUsd: 0, turns: 0 };
          return { ...j, updatedAt: e.ts, usage: { inputTokens: u.inputTokens + e.inputTokens, outputTokens: u.outputTokens + e.outputTokens, cacheReadTokens: u.cacheReadTokens + (e.cacheReadTokens ?? 0), costUsd: u.costUsd + (e.costUsd ?? 0), turns: u.turns + (e.turns ?? 0) } };
        });
        return;
      case 'session_started':
        this.patch((j) => ({ ...j, agentSessionId: e.agentSessionId, ...(e.model ? { model: e.model } : {}) }));
        return;
      case 'job_resolved':
        this.patch((j) => ({ ...j, resolution: e.resolution, ...(e.prUrl ? { prUrl: e.prUrl } : {}) }));
        t?.addItem({ kind: 'note', key: `n${e.seq}`, tone: 'success', text: `Resolved: ${e.resolution.replace('_', ' ')}${e.prUrl ? ` (${e.prUrl})` : ''}` });
        return;
      case 'containment_alarm':
        this.alarms.value = [...this.alarms.value, { seq: e.seq, ts: e.ts, message: e.message, changes: e.changes, ...(e.omitted ? { omitted: e.omitted } : {}) }];
        return;
      case 'job_created':
        return;
      case 'job_restarted': {
        // Its transcript line is a system entry emitted with it; the held approvals' cards say their turn was interrupted.
        let next = this.approvals.value;
        for (const id of e.heldApprovals ?? []) {
          const a = next.get(id);
          if (a) next = new Map(next).set(id, { ...a, interruptedAt: e.ts });
        }
        this.approvals.value = next;
        return;
      }
      default:
        assertNever(e);
    }
  }

  async loadLogs(): Promise<void> {
    try {
      this.logs.value = await api.logs(this.id);
    } catch (e) {
      this.actionError.value = errorText(e);
    }
  }

  /** Runs one user action (send, cancel, resume), exposing busy and error state. */
  async act(name: string, fn: () => Promise<unknown>): Promise<boolean> {
    if (this.busy.value) return false;
    batch(() => {
      this.busy.value = name;
      this.actionError.value = null;
    });
    try {
      const r = await fn();
      // The answer may be older than what the event stream already folded in (a cancel answers with the job as it
      // was when asked; its `canceled` event can arrive first): never let it turn the page back.
      if (r && typeof r === 'object' && 'state' in r && 'id' in r) {
        const answered = r as Job;
        const shown = this.job.value;
        if (!shown || Date.parse(answered.updatedAt) > Date.parse(shown.updatedAt)) this.job.value = answered;
      }
      return true;
    } catch (e) {
      this.actionError.value = errorText(e);
      return false;
    } finally {
      this.busy.value = null;
    }
  }

  send = (content: string) => this.act('send', () => api.sendMessage(this.id, content));
  cancel = () => this.act('cancel', () => api.cancel(this.id));
  // The server waits for a just-canceled job's agent to stop before resuming it.
  resume = (instruction?: string) => this.act('resume', () => api.resume(this.id, instruction));
}

/** The job page currently open (at most one). */
export const currentJob = signal<JobModel | null>(null);

export function openJob(id: string): JobModel {
  const cur = currentJob.value;
  if (cur?.id === id) return cur;
  cur?.dispose();
  const m = new JobModel(id);
  currentJob.value = m;
  void m.open();
  return m;
}

export function closeJob(): void {
  currentJob.value?.dispose();
  currentJob.value = null;
}
