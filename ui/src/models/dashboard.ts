import { computed, signal } from '@preact/signals';
import type { Job, JobState } from '../../../api/contract.ts';
import { approvalsByJob, jobs } from './jobs-store.ts';

export type GroupId = 'approval' | 'running' | 'review' | 'queued' | 'done' | 'failed';

export interface JobGroup {
  id: GroupId;
  title: string;
  jobs: Job[];
}

const GROUP_OF: Record<JobState, GroupId> = {
  waiting_for_approval: 'approval',
  preparing: 'running',
  running: 'running',
  review: 'review',
  queued: 'queued',
  completed: 'done',
  canceled: 'done',
  failed: 'failed',
};

const TITLES: Record<GroupId, string> = {
  approval: 'Waiting for approval',
  running: 'Running',
  review: 'In review',
  queued: 'Queued',
  done: 'Done',
  failed: 'Failed',
};

const ORDER: GroupId[] = ['approval', 'running', 'review', 'queued', 'done', 'failed'];

/** The dashboard's filter box. */
export const filter = signal('');

function matches(job: Job, words: string[]): boolean {
  if (words.length === 0) return true;
  const hay = `${job.title} ${job.repo} ${job.branch} ${job.agent} ${job.model ?? ''} ${job.state} ${job.id}`.toLowerCase();
  return words.every((w) => hay.includes(w));
}

/** Jobs grouped by what they need from the user, newest first (queued: oldest first, the order they start). */
export const groups = computed<JobGroup[]>(() => {
  const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
  const pending = approvalsByJob.value;
  const by = new Map<GroupId, Job[]>(ORDER.map((g) => [g, []]));
  for (const job of jobs.value.values()) {
    if (!matches(job, words)) continue;
    // A job with an unanswered approval needs the user whatever its last known state says.
    const g = pending.has(job.id) && job.state === 'running' ? 'approval' : GROUP_OF[job.state];
    by.get(g)!.push(job);
  }
  return ORDER.map((id) => {
    const list = by.get(id)!;
    list.sort((a, b) => (id === 'queued' ? a.createdAt.localeCompare(b.createdAt) : b.updatedAt.localeCompare(a.updatedAt)));
    return { id, title: TITLES[id], jobs: list };
  });
});

export const totalJobs = computed(() => jobs.value.size);
export const approvalCount = computed(() => [...approvalsByJob.value.values()].reduce((n, l) => n + l.length, 0));

/** The jobs in the order the dashboard shows them (keyboard navigation walks this). */
export const visibleOrder = computed(() => groups.value.flatMap((g) => g.jobs.map((j) => j.id)));
export const selectedJobId = signal<string | null>(null);
