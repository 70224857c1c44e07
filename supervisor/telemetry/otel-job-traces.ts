/**
 * Builds OpenTelemetry spans and metrics from a job's stored domain events, after the fact, with
 * the events' own times: a trace per job (root `codeplane.job`), a `codeplane.turn` span per agent
 * turn, and under it a `codeplane.tool` span per tool call (tool_call → tool_result) and a
 * `codeplane.approval` span per approval wait (approval_requested → approval_resolved). Loaded
 * only when OTLP export is configured (see otel-export.ts).
 */
import { ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Context, type Counter, type Histogram, type Meter, type Span, type Tracer } from '@opentelemetry/api';
import type { StoredEvent } from '../../api/contract.ts';
import type { DomainEvent, TranscriptEntry } from '../../machines/domain-events.ts';
import type { JobState } from '../../machines/job-spec.ts';

const ENDED: readonly JobState[] = ['completed', 'failed', 'canceled'];
const TURN_OVER: readonly JobState[] = ['review', 'completed', 'failed', 'canceled'];
const MAX_TEXT = 256;

interface Open {
  span: Span;
  start: number;
  attrs: Attributes;
}

interface Turn extends Open {
  ctx: Context;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

interface JobTrace {
  id: string;
  root: Span;
  ctx: Context;
  agent: string;
  model?: string;
  turns: number;
  turn?: Turn;
  tools: Map<string, Open & { name: string }>;
  approvals: Map<string, Open>;
}

/** A failed or canceled job that was resumed: its earlier trace ended with it, this one continues it. */
const resumed = (ev: DomainEvent): boolean => ev.type === 'job_state_changed' && (ev.from === 'failed' || ev.from === 'canceled');
const clip = (s: string): string => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s);
const at = (ms: number): Date => new Date(ms);

export class JobTraceBuilder {
  private readonly jobs = new Map<string, JobTrace>();
  private readonly m: {
    inputTokens: Counter;
    outputTokens: Counter;
    cost: Counter;
    turnDuration: Histogram;
    toolDuration: Histogram;
    approvalWait: Histogram;
    jobsEnded: Counter;
  };

  constructor(
    private readonly tracer: Tracer,
    meter: Meter,
  ) {
    this.m = {
      inputTokens: meter.createCounter('codeplane.agent.tokens.input', { unit: '{token}', description: 'Input tokens the agents used' }),
      outputTokens: meter.createCounter('codeplane.agent.tokens.output', { unit: '{token}', description: 'Output tokens the agents produced' }),
      cost: meter.createCounter('codeplane.agent.cost', { unit: 'USD', description: 'Cost the agents reported' }),
      turnDuration: meter.createHistogram('codeplane.turn.duration', { unit: 's', description: 'Duration of agent turns' }),
      toolDuration: meter.createHistogram('codeplane.tool.duration', { unit: 's', description: 'Duration of tool calls' }),
      approvalWait: meter.createHistogram('codeplane.approval.wait', { unit: 's', description: 'Time approvals waited for an answer' }),
      jobsEnded: meter.createCounter('codeplane.jobs.ended', { description: 'Jobs that completed, failed or were canceled' }),
    };
  }

  /** Open job traces (for tests and diagnostics). */
  get openJobs(): number {
    return this.jobs.size;
  }

  onEvent(e: StoredEvent): void {
    const t = Date.parse(e.ts) || Date.now();
    const ev: DomainEvent = e.event;
    const job = this.job(e.jobId, ev, t);
    switch (ev.type) {
      case 'job_created':
        return;
      case 'session_started':
        job.root.setAttribute('codeplane.agent.session_id', ev.agentSessionId);
        if (ev.model) {
          job.model = ev.model;
          job.root.setAttribute('gen_ai.request.model', ev.model);
        }
        return;
      case 'job_state_changed':
        return this.stateChanged(job, ev, t);
      case 'transcript_update':
        return this.transcript(job, ev.entry, t);
      case 'approval_requested': {
        const a = ev.approval;
        const start = Date.parse(a.requestedAt) || t;
        const attrs: Attributes = {
          'codeplane.approval.id': a.id,
          'codeplane.approval.kind': a.kind,
          'codeplane.approval.explicit': a.explicit,
          'codeplane.approval.summary': clip(a.summary),
          ...(a.toolName ? { 'codeplane.tool.name': a.toolName } : {}),
        };
        job.approvals.set(a.id, this.child(job, 'codeplane.approval', start, attrs));
        return;
      }
      case 'approval_resolved': {
        const open = job.approvals.get(ev.approvalId);
        if (!open) return;
        job.approvals.delete(ev.approvalId);
        open.span.setAttributes({ 'codeplane.approval.resolution': ev.resolution, 'codeplane.approval.has_note': !!ev.note });
        open.span.end(at(t));
        this.m.approvalWait.record(Math.max(0, t - open.start) / 1000, { 'codeplane.agent': job.agent, 'codeplane.approval.resolution': ev.resolution });
        return;
      }
      case 'telemetry': {
        const attrs = { 'codeplane.agent': job.agent, ...((ev.model ?? job.model) ? { 'gen_ai.request.model': ev.model ?? job.model } : {}) };
        this.m.inputTokens.add(ev.inputTokens, attrs);
        this.m.outputTokens.add(ev.outputTokens, attrs);
        if (ev.costUsd) this.m.cost.add(ev.costUsd, attrs);
        if (job.turn) {
          job.turn.inputTokens += ev.inputTokens;
          job.turn.outputTokens += ev.outputTokens;
          job.turn.costUsd += ev.costUsd ?? 0;
        }
        return;
      }
      case 'diff_update':
        job.root.setAttributes({ 'codeplane.diff.files': ev.stats.files, 'codeplane.diff.additions': ev.stats.additions, 'codeplane.diff.deletions': ev.stats.deletions });
        return;
      case 'job_resolved':
        job.root.setAttributes({ 'codeplane.job.resolution': ev.resolution, ...(ev.prUrl ? { 'codeplane.job.pr_url': ev.prUrl } : {}) });
        return;
      case 'log_line':
        if (ev.level === 'error' || ev.level === 'warn') (job.turn?.span ?? job.root).addEvent('log', { 'log.severity': ev.level, 'log.message': clip(ev.message) }, at(t));
        return;
      case 'job_restarted':
        job.root.addEvent('restart', { 'codeplane.restart.kind': ev.kind, 'codeplane.restart.reason': clip(ev.reason) }, at(t));
        return;
    }
  }

  /** Ends every open span now (server shutdown), so nothing already seen is lost. */
  endAll(now = Date.now()): void {
    for (const job of [...this.jobs.values()]) {
      job.root.setAttribute('codeplane.job.open_at_shutdown', true);
      this.endJob(job, now);
    }
  }

  private job(jobId: string, ev: DomainEvent, t: number): JobTrace {
    const existing = this.jobs.get(jobId);
    if (existing) return existing;
    const created = ev.type === 'job_created' ? ev : undefined;
    const attrs: Attributes = {
      'codeplane.job.id': jobId,
      ...(created
        ? { 'codeplane.job.title': clip(created.title), 'codeplane.agent': created.agent, 'codeplane.repo.id': created.repoId }
        : resumed(ev)
          ? { 'codeplane.job.resumed': true }
          : // The job began before this server started (a restart): its trace is split.
            { 'codeplane.job.partial': true }),
    };
    const root = this.tracer.startSpan('codeplane.job', { startTime: at(t), attributes: attrs, root: true }, ROOT_CONTEXT);
    const job: JobTrace = { id: jobId, root, ctx: trace.setSpan(ROOT_CONTEXT, root), agent: created?.agent ?? 'unknown', turns: 0, tools: new Map(), approvals: new Map() };
    this.jobs.set(jobId, job);
    return job;
  }

  private child(job: JobTrace, name: string, start: number, attrs: Attributes): Open {
    const span = this.tracer.startSpan(name, { startTime: at(start), attributes: { 'codeplane.job.id': job.id, ...attrs } }, job.turn?.ctx ?? job.ctx);
    return { span, start, attrs };
  }

  private stateChanged(job: JobTrace, ev: Extract<DomainEvent, { type: 'job_state_changed' }>, t: number): void {
    job.root.setAttribute('codeplane.job.state', ev.to);
    job.root.addEvent('job_state_changed', { from: ev.from, to: ev.to, ...(ev.reason ? { reason: clip(ev.reason) } : {}) }, at(t));
    if (ev.to === 'running' && !job.turn) this.startTurn(job, t);
    if (TURN_OVER.includes(ev.to) && job.turn) this.endTurn(job, t, ev.to === 'review' ? 'completed' : ev.to, ev.reason);
    if (ENDED.includes(ev.to)) {
      if (ev.to === 'failed') job.root.setStatus({ code: SpanStatusCode.ERROR, ...(ev.reason ? { message: ev.reason } : {}) });
      if (ev.reason) job.root.setAttribute('codeplane.job.failure_reason', clip(ev.reason));
      this.m.jobsEnded.add(1, { 'codeplane.agent': job.agent, 'codeplane.job.state': ev.to });
      this.endJob(job, t);
    }
  }

  private startTurn(job: JobTrace, t: number): void {
    job.turns += 1;
    const span = this.tracer.startSpan('codeplane.turn', { startTime: at(t), attributes: { 'codeplane.job.id': job.id, 'codeplane.turn.number': job.turns, 'codeplane.agent': job.agent } }, job.ctx);
    job.turn = { span, ctx: trace.setSpan(job.ctx, span), start: t, attrs: {}, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  }

  private endTurn(job: JobTrace, t: number, outcome: string, reason: string | undefined): void {
    const turn = job.turn;
    if (!turn) return;
    this.closeChildren(job, t);
    turn.span.setAttributes({
      'codeplane.turn.outcome': outcome,
      'gen_ai.usage.input_tokens': turn.inputTokens,
      'gen_ai.usage.output_tokens': turn.outputTokens,
      'codeplane.turn.cost_usd': turn.costUsd,
      ...(job.model ? { 'gen_ai.request.model': job.model } : {}),
    });
    if (outcome === 'failed') turn.span.setStatus({ code: SpanStatusCode.ERROR, ...(reason ? { message: reason } : {}) });
    turn.span.end(at(t));
    this.m.turnDuration.record(Math.max(0, t - turn.start) / 1000, { 'codeplane.agent': job.agent, 'codeplane.turn.outcome': outcome });
    job.turn = undefined;
  }

  private transcript(job: JobTrace, entry: TranscriptEntry, t: number): void {
    if (entry.role === 'tool_call') {
      const name = entry.toolName ?? 'unknown';
      const key = entry.toolCallId ?? `seq-${entry.seq}`;
      const open = this.child(job, 'codeplane.tool', t, { 'codeplane.tool.name': name, 'gen_ai.tool.name': name, ...(entry.toolCallId ? { 'gen_ai.tool.call.id': entry.toolCallId } : {}) });
      job.tools.set(key, { ...open, name });
    } else if (entry.role === 'tool_result') {
      const key = entry.toolCallId ?? [...job.tools.keys()].at(-1);
      const open = key === undefined ? undefined : job.tools.get(key);
      if (!open || key === undefined) return;
      job.tools.delete(key);
      const success = entry.toolSuccess !== false;
      open.span.setAttribute('codeplane.tool.success', success);
      if (!success) open.span.setStatus({ code: SpanStatusCode.ERROR, ...(entry.toolOutput ? { message: clip(entry.toolOutput) } : {}) });
      open.span.end(at(t));
      const seconds = (entry.durationMs ?? Math.max(0, t - open.start)) / 1000;
      this.m.toolDuration.record(seconds, { 'codeplane.agent': job.agent, 'codeplane.tool.name': open.name, 'codeplane.tool.success': success });
    }
  }

  /** Tool calls and approvals still open when their turn ends are ended with it. */
  private closeChildren(job: JobTrace, t: number): void {
    for (const open of [...job.tools.values(), ...job.approvals.values()]) {
      open.span.setAttribute('codeplane.span.unfinished', true);
      open.span.end(at(t));
    }
    job.tools.clear();
    job.approvals.clear();
  }

  private endJob(job: JobTrace, t: number): void {
    if (job.turn) this.endTurn(job, t, 'interrupted', undefined);
    this.closeChildren(job, t);
    job.root.setAttribute('codeplane.job.turns', job.turns);
    job.root.end(at(t));
    this.jobs.delete(job.id);
  }
}
