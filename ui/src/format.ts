import type { JobState } from '../../api/contract.ts';

export const STATE_LABEL: Record<JobState, string> = {
  queued: 'Queued',
  preparing: 'Preparing',
  running: 'Running',
  waiting_for_approval: 'Needs approval',
  review: 'In review',
  completed: 'Completed',
  failed: 'Failed',
  canceled: 'Canceled',
};

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function ago(iso: string, now: number): string {
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 10) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

export function tokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

export const cost = (usd: number): string => (usd === 0 ? '$0' : usd < 0.01 ? '<$0.01' : `$${usd.toFixed(2)}`);

/** A path inside the job's worktree, shown relative to it. */
export const relPath = (path: string, worktree: string | undefined): string =>
  worktree && path.startsWith(`${worktree}/`) ? path.slice(worktree.length + 1) : path;

export const repoName = (path: string): string => path.split(/[\\/]/).filter(Boolean).at(-1) ?? path;

export const time = (iso: string): string => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** A server validation message without its leading "field: ". */
export const fieldMessage = (m: string): string => {
  const s = m.replace(/^[\w.]+: /, '');
  return s.charAt(0).toUpperCase() + s.slice(1);
};

/** 1.2 GB, 340 MB, 12 kB: disk sizes at a glance. */
export function bytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${i === 0 || v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}
