import { signal } from '@preact/signals';
import { answerApproval } from './models/approval-actions.ts';
import { selectedJobId, visibleOrder } from './models/dashboard.ts';
import { currentJob } from './models/job-model.ts';
import { approvalsByJob } from './models/jobs-store.ts';
import { jobPath, navigate, route } from './router.ts';

export const helpOpen = signal(false);

export const SHORTCUTS: [string, string][] = [
  ['n', 'New job'],
  ['/', 'Filter jobs'],
  ['j / k', 'Next / previous job'],
  ['Enter', 'Open the selected job'],
  ['a', 'Approve the first waiting approval'],
  ['r', 'Reject the first waiting approval'],
  ['t / d / l', 'Transcript / changes / logs'],
  ['c', 'Write to the agent'],
  ['Ctrl+Enter', 'Send / start the job'],
  ['Esc', 'Back to the dashboard'],
  ['?', 'Show these shortcuts'],
];

function typing(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

function firstPending() {
  const r = route.value;
  if (r.name === 'job') return currentJob.value?.pending.value[0];
  const sel = selectedJobId.value;
  const lists = approvalsByJob.value;
  return (sel ? lists.get(sel)?.[0] : undefined) ?? [...lists.values()][0]?.[0];
}

function move(delta: number): void {
  const order = visibleOrder.value;
  if (order.length === 0) return;
  const i = selectedJobId.value ? order.indexOf(selectedJobId.value) : -1;
  const next = order[Math.max(0, Math.min(order.length - 1, i + delta))]!;
  selectedJobId.value = next;
  document.querySelector(`[data-job-id="${CSS.escape(next)}"]`)?.scrollIntoView({ block: 'nearest' });
}

/** Keyboard shortcuts for the frequent actions (desktop). */
export function installShortcuts(): void {
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && helpOpen.value) return void (helpOpen.value = false);
    // Esc in a field leaves it, so the single-key shortcuts work again.
    if (e.key === 'Escape' && typing(e.target)) return void (e.target as HTMLElement).blur();
    if (e.defaultPrevented || e.metaKey || e.ctrlKey || e.altKey || typing(e.target)) return;
    const r = route.value;
    const job = currentJob.value;
    const act = (fn: () => void) => {
      e.preventDefault();
      fn();
    };
    switch (e.key) {
      case '?':
        return act(() => (helpOpen.value = !helpOpen.value));
      case 'n':
        return act(() => navigate('/new'));
      case '/':
        if (r.name !== 'dashboard') navigate('/');
        return act(() => requestAnimationFrame(() => document.getElementById('job-filter')?.focus()));
      case 'j':
        return r.name === 'dashboard' ? act(() => move(1)) : undefined;
      case 'k':
        return r.name === 'dashboard' ? act(() => move(-1)) : undefined;
      case 'Enter':
      case 'o':
        return r.name === 'dashboard' && selectedJobId.value ? act(() => navigate(jobPath(selectedJobId.value!))) : undefined;
      case 'a':
      case 'r': {
        const a = firstPending();
        return a ? act(() => void answerApproval(a, e.key === 'a' ? 'approved' : 'rejected')) : undefined;
      }
      case 't':
      case 'd':
      case 'l':
        if (r.name !== 'job' || !job) return;
        return act(() => navigate(jobPath(r.id, e.key === 't' ? 'transcript' : e.key === 'd' ? 'diff' : 'logs')));
      case 'c':
        return r.name === 'job' ? act(() => document.getElementById('composer-input')?.focus()) : undefined;
      case 'Escape':
        return r.name !== 'dashboard' ? act(() => navigate('/')) : undefined;
    }
  });
}
