import { approvalCount } from '../models/dashboard.ts';
import { route } from '../router.ts';
import { helpOpen } from '../shortcuts.ts';
import { ConnectionIndicator } from './ConnectionIndicator.tsx';
import { Dashboard } from './Dashboard.tsx';
import { JobPage } from './JobPage.tsx';
import { NewJob } from './NewJob.tsx';
import { PushToggle } from './PushToggle.tsx';
import { ShortcutsHelp } from './ShortcutsHelp.tsx';
import { StorageBanner } from './StorageBanner.tsx';

export function App() {
  const r = route.value;
  const waiting = approvalCount.value;
  return (
    <div class={`app route-${r.name}`}>
      <header class="topbar">
        <a class="brand" href="/" aria-label="CodePlane dashboard">
          <img src="/icons/icon.svg" alt="" width={28} height={28} />
          <span class="brand-name">CodePlane</span>
        </a>
        {waiting > 0 && (
          <a class="approvals-pill" href="/" title="Approvals waiting for you" data-testid="approvals-pill">
            {waiting} {waiting === 1 ? 'approval' : 'approvals'}
          </a>
        )}
        <span class="spacer" />
        <ConnectionIndicator />
        <PushToggle />
        <button type="button" class="btn ghost icon-btn kbd-help" onClick={() => (helpOpen.value = true)} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">?</button>
        <a class="btn primary new-job" href="/new" title="New job (n)">
          <span aria-hidden="true">+</span>
          <span class="label"> New job</span>
        </a>
      </header>
      <StorageBanner />
      <main class="main">
        {r.name === 'dashboard' && <Dashboard />}
        {r.name === 'new' && <NewJob />}
        {r.name === 'job' && <JobPage id={r.id} tab={r.tab} />}
        {r.name === 'not_found' && (
          <div class="page empty">
            <h2>Page not found</h2>
            <p class="muted">{r.path}</p>
            <a class="btn" href="/">Back to the dashboard</a>
          </div>
        )}
      </main>
      <ShortcutsHelp />
    </div>
  );
}
