/**
 * What a Web Push notification says, decided from a stored event (pure).
 * Payloads carry what the user needs to decide (job title, what the agent
 * wants) and where to go, never a secret: no tokens, no keys, no cookies, and
 * anything that looks like a credential in a command or reason is masked.
 */
import type { StoredEvent } from '../../api/contract.ts';

export interface PushPayload {
  type: 'approval_requested' | 'job_review' | 'job_failed' | 'containment_alarm';
  title: string;
  body: string;
  /** A same-origin path the notification opens. */
  url: string;
  /** Notifications with the same tag replace each other. */
  tag: string;
  jobId: string;
  approvalId?: string;
  /** Buttons; the service worker answers them with POST `resolveUrl` {resolution}. */
  actions?: { action: 'approve' | 'reject'; title: string }[];
  resolveUrl?: string;
}

const MAX_TEXT = 180;

/** Masks values that look like secrets: `KEY=…`, `--token …`, bearer tokens, long hex/base64 runs. */
export function redact(text: string): string {
  return text
    .replace(/\b([A-Za-z0-9_]*(?:pass(?:word)?|secret|token|api[_-]?key)[A-Za-z0-9_]*)(\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi, '$1$2•••')
    .replace(/(--?[A-Za-z-]*(?:pass(?:word)?|secret|token|api-?key)[A-Za-z-]*)([= ])("[^"]*"|'[^']*'|\S+)/gi, '$1$2•••')
    .replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 •••')
    .replace(/\b(?:gh[pousr]_|github_pat_|sk-|xox[abp]-|cp[tsc]_)[A-Za-z0-9_-]{8,}/g, '•••')
    .replace(/[A-Za-z0-9+_-]{40,}={0,2}/g, '•••');
}

const clip = (text: string): string => {
  const one = redact(text.replace(/\s+/g, ' ').trim());
  return one.length > MAX_TEXT ? `${one.slice(0, MAX_TEXT - 1)}…` : one;
};

/** The notification for an event, or undefined when the event is not worth a push. */
export function pushPayloadFor(e: StoredEvent, jobTitle: string): PushPayload | undefined {
  const ev = e.event;
  const title = clip(jobTitle) || 'a job';
  const jobUrl = `/jobs/${encodeURIComponent(e.jobId)}`;
  if (ev.type === 'approval_requested') {
    const a = ev.approval;
    return {
      type: 'approval_requested',
      title: `Approval needed: ${title}`,
      body: clip(`${a.kind}: ${a.summary}`),
      url: `${jobUrl}#approval-${encodeURIComponent(a.id)}`,
      tag: `approval-${a.id}`,
      jobId: e.jobId,
      approvalId: a.id,
      actions: [
        { action: 'approve', title: 'Approve' },
        { action: 'reject', title: 'Reject' },
      ],
      resolveUrl: `/api/approvals/${encodeURIComponent(a.id)}/resolve`,
    };
  }
  if (ev.type === 'job_state_changed' && ev.to === 'review')
    return { type: 'job_review', title: `Ready for review: ${title}`, body: 'The agent finished its turn. Review the changes.', url: jobUrl, tag: `job-${e.jobId}`, jobId: e.jobId };
  if (ev.type === 'job_state_changed' && ev.to === 'failed')
    return { type: 'job_failed', title: `Job failed: ${title}`, body: ev.reason ? clip(ev.reason) : 'The job failed.', url: jobUrl, tag: `job-${e.jobId}`, jobId: e.jobId };
  if (ev.type === 'containment_alarm') {
    // Its own tag: the review notification of the same turn must not replace it.
    const undone = ev.changes.filter((c) => c.undone).length;
    return { type: 'containment_alarm', title: `Containment alarm: ${title}`, body: clip(`${ev.changes.map((c) => c.ref).join(', ')} changed outside the job's branch during its turn; ${undone} of ${ev.changes.length} undone.`), url: jobUrl, tag: `alarm-${e.jobId}-${e.seq}`, jobId: e.jobId };
  }
  return undefined;
}
