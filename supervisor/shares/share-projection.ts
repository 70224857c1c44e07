/**
 * What a share link shows of a job: ONE projection, used by the REST view
 * (`GET /api/share/:token`) and the share's SSE stream alike, so the two cannot drift.
 *
 * - Deny by default: an event type not named below (log lines, telemetry, the agent session,
 *   job creation, containment alarms, any type added later) is not shown; each shown event is rebuilt field by
 *   field, so a field added later is not shown either.
 * - Approvals as their one-line summary: no tool input, no detail, no reviewer's note.
 * - Text passes through the redactor (machines/redact.ts, with the server's own secret
 *   values: the events were redacted in the worker, but the prompt and the server's own
 *   events were not), then paths: the job's worktree becomes relative (`.`), the user's
 *   checkout `[repo]`, the worktrees directory `[worktrees]`, CODEPLANE_HOME `[codeplane-home]`,
 *   the home directory `~`.
 */
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import type { Job, SharedJob, ShareView, StoredEvent, TranscriptEntry } from '../../api/contract.ts';
import type { ApprovalKind, DiffFileStat, DomainEvent } from '../../machines/domain-events.ts';
import { MAX_DEPTH, TOO_DEEP, type Redactor } from '../../machines/redact.ts';

/** The server-wide facts a projection needs (the job adds its own paths). */
export interface ShareScope {
  codeplaneHome: string;
  worktreesDir: string;
  userHome: string;
  /** The server's redactor: token shapes plus the server's secret environment values (CPL_PASSWORD...). */
  redactor: Redactor;
}

type Approval = ShareView['pendingApprovals'][number];

export class ShareProjection {
  /** [path, replacement], longest path first: a worktree inside CODEPLANE_HOME inside HOME becomes `.`, not `~/…`. */
  private readonly paths: { path: string; re: RegExp; label: string }[];

  constructor(
    private readonly job: Pick<Job, 'worktreePath' | 'repo'>,
    private readonly scope: ShareScope,
  ) {
    const pairs: [string, string][] = [];
    const add = (p: string, label: string) => {
      for (const v of variants(p)) if (v.length > 1) pairs.push([v, label]);
    };
    add(job.worktreePath, '.');
    add(job.repo, '[repo]');
    add(scope.worktreesDir, '[worktrees]');
    add(scope.codeplaneHome, '[codeplane-home]');
    add(scope.userHome, '~');
    // A path ends where a path component ends: `/home/u` is not the start of `/home/u2`.
    this.paths = pairs
      .sort((a, b) => b[0].length - a[0].length)
      .map(([path, label]) => ({ path, label, re: new RegExp(`${escapeRe(path)}${label === '.' ? '(?:/|(?![A-Za-z0-9._-]))' : '(?![A-Za-z0-9._-])'}`, 'g') }));
  }

  /** Secrets out, then local paths. */
  text(s: string): string {
    let out = this.scope.redactor.text(s);
    for (const { path, re, label } of this.paths) {
      if (!out.includes(path)) continue;
      // Inside the worktree a path is relative: `<worktree>/src/a.ts` → `src/a.ts`, the worktree itself `.`.
      out = out.replace(re, (m) => (label === '.' && m.endsWith('/') ? '' : label));
    }
    return out;
  }

  /** Every string of a JSON-like value through `text` (keys kept). */
  value(v: unknown, depth = 0): unknown {
    if (typeof v === 'string') return this.text(v);
    if (typeof v !== 'object' || v === null) return v;
    if (depth >= MAX_DEPTH) return TOO_DEEP;
    if (Array.isArray(v)) return v.map((x) => this.value(x, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.value(x, depth + 1)]));
  }

  sharedJob(j: Job): SharedJob {
    const s: SharedJob = {
      id: j.id,
      title: this.text(j.title),
      repoName: basename(j.repo),
      prompt: this.text(j.prompt),
      agent: j.agent,
      model: j.model,
      state: j.state,
      branch: j.branch,
      baseRef: j.baseRef,
      createdAt: j.createdAt,
      updatedAt: j.updatedAt,
    };
    if (j.completedAt) s.completedAt = j.completedAt;
    if (j.resolution) s.resolution = j.resolution;
    if (j.prUrl) s.prUrl = j.prUrl;
    if (j.failureReason) s.failureReason = this.text(j.failureReason);
    if (j.usage) s.usage = j.usage;
    return s;
  }

  entry(e: TranscriptEntry): TranscriptEntry {
    const out: TranscriptEntry = { seq: e.seq, role: e.role };
    if (e.text !== undefined) out.text = this.text(e.text);
    if (e.toolName !== undefined) out.toolName = e.toolName;
    if (e.toolInput !== undefined) out.toolInput = this.value(e.toolInput);
    if (e.toolOutput !== undefined) out.toolOutput = this.text(e.toolOutput);
    if (e.toolSuccess !== undefined) out.toolSuccess = e.toolSuccess;
    if (e.toolCallId !== undefined) out.toolCallId = e.toolCallId;
    if (e.durationMs !== undefined) out.durationMs = e.durationMs;
    return out;
  }

  approval(a: { id: string; kind: ApprovalKind; summary: string; requestedAt: string }): Approval {
    return { id: a.id, kind: a.kind, summary: this.text(a.summary), requestedAt: a.requestedAt };
  }

  diffFiles(files: readonly DiffFileStat[]): DiffFileStat[] {
    return files.map((f) => ({ path: this.text(f.path), status: f.status, additions: f.additions, deletions: f.deletions }));
  }

  /** The event as a share streams it, or undefined when a share does not show it. */
  event(e: StoredEvent): StoredEvent | undefined {
    const shown = this.domainEvent(e.event);
    return shown && { id: e.id, jobId: e.jobId, seq: e.seq, ts: e.ts, event: shown };
  }

  private domainEvent(ev: DomainEvent): DomainEvent | undefined {
    switch (ev.type) {
      case 'job_state_changed':
        return ev.reason === undefined ? { type: ev.type, from: ev.from, to: ev.to } : { type: ev.type, from: ev.from, to: ev.to, reason: this.text(ev.reason) };
      case 'transcript_update':
        return { type: ev.type, entry: this.entry(ev.entry) };
      case 'approval_requested': {
        const a = this.approval(ev.approval);
        // The contract's approval has a detail: a share's is empty (summaries only).
        return { type: ev.type, approval: { ...a, detail: {}, explicit: ev.approval.explicit, ...(ev.approval.toolName ? { toolName: ev.approval.toolName } : {}) } };
      }
      case 'approval_resolved':
        return { type: ev.type, approvalId: ev.approvalId, resolution: ev.resolution };
      case 'diff_update':
        return { type: ev.type, stats: { files: ev.stats.files, additions: ev.stats.additions, deletions: ev.stats.deletions }, files: this.diffFiles(ev.files.slice(0, 500)) };
      case 'job_resolved':
        return {
          type: ev.type,
          resolution: ev.resolution,
          ...(ev.prUrl ? { prUrl: ev.prUrl } : {}),
          ...(ev.conflictFiles ? { conflictFiles: ev.conflictFiles.map((f) => this.text(f)) } : {}),
        };
      case 'job_restarted': // its kind and the words the transcript shows too; which approvals were held is the owner's view
        return { type: ev.type, kind: ev.kind, reason: this.text(ev.reason) };
      case 'log_line':
      case 'telemetry':
      case 'session_started':
      case 'job_created':
      case 'containment_alarm': // the ref guard's report: the owner's business (refs, object ids, reasons)
        return undefined;
      default: {
        // A type this build does not know (a newer writer, a corrupt row): not shown.
        const unknownType: never = ev;
        void unknownType;
        return undefined;
      }
    }
  }
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A path as given and as the operating system resolves it (symlinked /tmp, home...). */
function variants(p: string): string[] {
  const out = [p.replace(/\/+$/, '')];
  try {
    const real = realpathSync(p);
    if (!out.includes(real)) out.push(real);
  } catch {
    // gone (a removed worktree): the path as stored is all there is
  }
  return out;
}
