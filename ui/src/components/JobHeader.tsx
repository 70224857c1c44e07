import type { Job } from '../../../api/contract.ts';
import { bytes, cost, duration, repoName, tokens } from '../format.ts';
import { now } from '../models/clock.ts';
import type { JobModel } from '../models/job-model.ts';
import { DiscardButton } from './DiscardButton.tsx';
import { StateBadge } from './StateBadge.tsx';

const ACTIVE = ['queued', 'preparing', 'running', 'waiting_for_approval'];
const RESUMABLE = ['failed', 'canceled'];

function elapsed(job: Job, nowMs: number): string {
  const end = job.completedAt ? Date.parse(job.completedAt) : ACTIVE.includes(job.state) ? nowMs : Date.parse(job.updatedAt);
  return duration(end - Date.parse(job.createdAt));
}

/** State, agent, model, branch, elapsed time, tokens and cost, with cancel / resume (and discard for a job that ended without landing). */
export function JobHeader({ model, job }: { model: JobModel; job: Job }) {
  const u = job.usage;
  const busy = model.busy.value;
  return (
    <header class="job-header">
      <div class="job-header-top">
        <a class="back" href="/" aria-label="Back to the dashboard">←</a>
        <h1 class="job-h1" title={job.prompt}>{job.title}</h1>
        {job.unsandboxed && (
          <span class="badge unsandboxed" data-testid="unsandboxed" title={'This server runs agents without the operating-system sandbox (config "sandbox": "off"): the agent and what it runs have your full rights.'}>
            no sandbox
          </span>
        )}
        <div class="job-actions">
          {ACTIVE.includes(job.state) && (
            <button type="button" class="btn danger-outline" disabled={!!busy} onClick={() => void model.cancel()} data-action="cancel" title="Cancel the job (x)">
              {busy === 'cancel' ? 'Canceling…' : 'Cancel'}
            </button>
          )}
          {RESUMABLE.includes(job.state) && (
            <button type="button" class="btn" disabled={!!busy} onClick={() => void model.resume()} data-action="resume">
              {busy === 'resume' ? 'Resuming…' : 'Resume'}
            </button>
          )}
          {RESUMABLE.includes(job.state) && !job.resolution && <DiscardButton model={model} />}
        </div>
      </div>
      <dl class="job-facts">
        <div><dt>State</dt><dd><StateBadge state={job.state} /></dd></div>
        <div><dt>Agent</dt><dd>{job.agent}{job.model ? <span class="muted"> · {job.model}</span> : null}</dd></div>
        <div class="wide"><dt>Branch</dt><dd><code title={`${job.branch} from ${job.baseRef} in ${job.repo}`}>{job.branch}</code> <span class="muted">← {job.baseRef} · {repoName(job.repo)}</span></dd></div>
        <div class="fact-elapsed"><dt>Elapsed</dt><dd data-testid="elapsed">{elapsed(job, now.value)}</dd></div>
        <div class="fact-tokens"><dt>Tokens</dt><dd title={u ? `${u.inputTokens} in, ${u.outputTokens} out, ${u.cacheReadTokens} cached` : undefined}>{u ? `${tokens(u.inputTokens)} in · ${tokens(u.outputTokens)} out` : '—'}</dd></div>
        <div><dt>Cost</dt><dd>{u ? cost(u.costUsd) : '—'}</dd></div>
        {job.diskUsage && (
          <div class="fact-disk"><dt>Disk</dt><dd title={`worktree ${job.worktreePath}, measured ${job.diskUsage.measuredAt}`}>{job.diskUsage.complete ? '' : '≥ '}{bytes(job.diskUsage.bytes)}</dd></div>
        )}
      </dl>
      {job.state === 'failed' && job.failureReason && <p class="banner error" role="alert">{job.failureReason}</p>}
      {job.resolution && (
        <p class="banner ok">
          Resolved: {job.resolution.replace('_', ' ')}
          {job.prUrl && <> · <a href={job.prUrl} target="_blank" rel="noreferrer">{job.prUrl}</a></>}
        </p>
      )}
      {model.actionError.value && <p class="banner error" role="alert">{model.actionError.value}</p>}
      {job.state !== 'review' && model.resolve.error.value && <p class="banner error" role="alert">{model.resolve.error.value}</p>}
    </header>
  );
}
