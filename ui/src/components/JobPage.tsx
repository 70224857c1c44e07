import { useEffect } from 'preact/hooks';
import { closeJob, currentJob, openJob } from '../models/job-model.ts';
import { jobPath, type JobTab } from '../router.ts';
import { Composer } from './Composer.tsx';
import { DiffView } from './DiffView.tsx';
import { JobHeader } from './JobHeader.tsx';
import { ContainmentAlarms } from './ContainmentAlarms.tsx';
import { LogsView } from './LogsView.tsx';
import { ResolvePanel } from './ResolvePanel.tsx';
import { TerminalView } from './TerminalView.tsx';
import { Transcript } from './Transcript.tsx';

export function JobPage({ id, tab }: { id: string; tab: JobTab }) {
  useEffect(() => {
    openJob(id);
  }, [id]);
  useEffect(() => () => closeJob(), []);
  const model = currentJob.value;
  const job = model?.id === id ? model.job.value : null;
  const version = model?.diffVersion.value ?? 0;
  const diffState = model?.diff.state.value;
  const diffable = !!job && !job.resolution && job.state !== 'queued' && job.state !== 'preparing';
  useEffect(() => {
    // Probe once (the tab hides on 404); reload on diff_update while the tab is open.
    // No worktree before the job starts, none after it is resolved: nothing to fetch then.
    if (model && diffable && (tab === 'diff' || diffState === 'unknown' || diffState === 'unavailable')) void model.diff.load(version);
  }, [model, diffable, tab, version]);
  useEffect(() => {
    if (job) document.title = `${job.title} · CodePlane`;
  }, [job?.title]);

  if (!model || model.id !== id) return null;
  if (model.error.value) return <div class="page"><p class="banner error" role="alert">Could not open job {id}: {model.error.value}</p><a href="/" class="btn">Back to the dashboard</a></div>;
  if (!job || !model.transcript) return <div class="page loading" aria-busy="true">Loading job…</div>;

  const showDiff = diffState === 'ready' || diffState === 'loading' || diffState === 'error';
  const stats = model.diffStats.value ?? model.diff.diff.value?.stats;
  const active: JobTab = tab === 'diff' && !showDiff ? 'transcript' : tab;
  const pending = model.pending.value.length;
  return (
    <div class="job-page" data-job-id={job.id} data-state={job.state}>
      <JobHeader model={model} job={job} />
      <ContainmentAlarms alarms={model.alarms.value} />
      <ResolvePanel model={model} job={job} />
      <nav class="tabs" aria-label="Job views">
        <a href={jobPath(id)} class="tab" aria-current={active === 'transcript' ? 'page' : undefined}>
          Transcript{pending > 0 && <span class="tab-badge" title="Approvals waiting">{pending}</span>}
        </a>
        {showDiff && (
          <a href={jobPath(id, 'diff')} class="tab" aria-current={active === 'diff' ? 'page' : undefined}>
            Changes{stats && <span class="diffstat"> <span class="add">+{stats.additions}</span> <span class="del">−{stats.deletions}</span></span>}
          </a>
        )}
        <a href={jobPath(id, 'logs')} class="tab" aria-current={active === 'logs' ? 'page' : undefined}>Logs</a>
        <a href={jobPath(id, 'terminal')} class="tab" aria-current={active === 'terminal' ? 'page' : undefined} title={diffable ? 'A shell in the job\'s worktree' : 'No worktree: no terminal'}>Terminal</a>
      </nav>
      {active === 'transcript' && (
        <div class="tab-body transcript-body">
          <Transcript model={model} t={model.transcript} />
          <Composer model={model} job={job} />
        </div>
      )}
      {active === 'diff' && <div class="tab-body scroll"><DiffView model={model} /></div>}
      {active === 'logs' && <div class="tab-body scroll"><LogsView model={model} /></div>}
      {active === 'terminal' && (
        <div class="tab-body terminal-body">
          {/* The same condition as the diff: a worktree exists from `running` until the job is resolved. */}
          {diffable ? <TerminalView key={job.id} jobId={job.id} /> : <p class="empty terminal-unavailable">{noTerminalReason(job)}</p>}
        </div>
      )}
    </div>
  );
}

function noTerminalReason(job: { state: string; resolution?: string }): string {
  if (job.resolution) return `This job was ${job.resolution === 'pr_created' ? 'turned into a pull request' : job.resolution}; its terminal closed with it.`;
  return `The terminal opens once the job's worktree exists (the job is ${job.state}).`;
}
