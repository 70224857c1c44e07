import type { Job } from '../../../api/contract.ts';
import { ago, cost, repoName } from '../format.ts';
import { now } from '../models/clock.ts';
import { selectedJobId } from '../models/dashboard.ts';
import { activity, approvalsByJob, diffStats } from '../models/jobs-store.ts';
import { jobPath } from '../router.ts';
import { ApprovalCard } from './ApprovalCard.tsx';
import { StateBadge } from './StateBadge.tsx';

export function JobCard({ job }: { job: Job }) {
  const approvals = approvalsByJob.value.get(job.id) ?? [];
  const d = diffStats.value.get(job.id);
  const act = activity.value.get(job.id);
  const selected = selectedJobId.value === job.id;
  const active = job.state === 'running' || job.state === 'preparing' || job.state === 'waiting_for_approval';
  return (
    <article class={`job-card${selected ? ' selected' : ''}`} data-job-id={job.id} data-state={job.state}>
      <a class="job-link" href={jobPath(job.id)} aria-current={selected ? 'true' : undefined}>
        <div class="job-row">
          <StateBadge state={job.state} />
          <span class="job-title">{job.title}</span>
        </div>
        <div class="job-meta">
          <span>{repoName(job.repo)}</span>
          <span>{job.agent}{job.model ? ` · ${job.model}` : ''}</span>
          <span class="branch" title={job.branch}>{job.branch}</span>
          {d && (d.additions > 0 || d.deletions > 0) && (
            <span class="diffstat"><span class="add">+{d.additions}</span> <span class="del">−{d.deletions}</span></span>
          )}
          {job.usage && job.usage.costUsd > 0 && <span>{cost(job.usage.costUsd)}</span>}
          {job.resolution && <span class="resolution">{job.resolution.replace('_', ' ')}</span>}
          <time dateTime={job.updatedAt}>{ago(job.updatedAt, now.value)}</time>
        </div>
        {job.state === 'failed' && job.failureReason && <p class="job-reason">{job.failureReason}</p>}
        {active && act && <p class="job-activity">{act.text}</p>}
      </a>
      {approvals.length > 0 && (
        <div class="card-approvals">
          {approvals.map((a) => (
            <ApprovalCard key={a.id} approval={a} compact worktree={job.worktreePath} />
          ))}
        </div>
      )}
    </article>
  );
}
