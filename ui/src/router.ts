import { computed, signal } from '@preact/signals';

export type JobTab = 'transcript' | 'diff' | 'logs' | 'terminal';
export type Route = { name: 'dashboard' } | { name: 'new' } | { name: 'job'; id: string; tab: JobTab } | { name: 'not_found'; path: string };

const path = signal(location.pathname);

export function parse(p: string): Route {
  if (p === '/' || p === '') return { name: 'dashboard' };
  if (p === '/new') return { name: 'new' };
  const m = /^\/jobs\/([^/]+)(?:\/(diff|logs|terminal))?\/?$/.exec(p);
  if (m) return { name: 'job', id: decodeURIComponent(m[1]!), tab: (m[2] as Exclude<JobTab, 'transcript'> | undefined) ?? 'transcript' };
  return { name: 'not_found', path: p };
}

/** The current route, from the History API (the server falls back to index.html for any page). */
export const route = computed(() => parse(path.value));

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === location.pathname) return;
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  path.value = location.pathname;
  window.scrollTo(0, 0);
}

export const jobPath = (id: string, tab: JobTab = 'transcript'): string =>
  `/jobs/${encodeURIComponent(id)}${tab === 'transcript' ? '' : `/${tab}`}`;

/** Same-origin `<a href>` clicks navigate in place; modified clicks keep the browser's behaviour. */
export function installRouter(): void {
  addEventListener('popstate', () => (path.value = location.pathname));
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    e.preventDefault();
    navigate(url.pathname);
  });
}
