import { useEffect } from 'preact/hooks';
import { filter, groups, totalJobs } from '../models/dashboard.ts';
import { finishedCursor, loadError, loaded, loadMoreFinished } from '../models/jobs-store.ts';
import { JobCard } from './JobCard.tsx';

export function Dashboard() {
  useEffect(() => {
    document.title = 'CodePlane';
  }, []);
  const all = groups.value;
  const shown = all.reduce((n, g) => n + g.jobs.length, 0);
  return (
    <div class="page dashboard">
      <div class="toolbar">
        <h1 class="page-title">Jobs</h1>
        <label class="filter">
          <span class="sr-only">Filter jobs</span>
          <input
            id="job-filter"
            type="search"
            placeholder="Filter by title, repo, branch, agent…"
            value={filter.value}
            onInput={(e) => (filter.value = e.currentTarget.value)}
            autocomplete="off"
            spellcheck={false}
          />
          <kbd class="hint-key" aria-hidden="true">/</kbd>
        </label>
      </div>
      {loadError.value && <p class="banner error" role="alert">Could not load jobs: {loadError.value}</p>}
      {!loaded.value && !loadError.value && <div class="loading" aria-busy="true">Loading jobs…</div>}
      {loaded.value && totalJobs.value === 0 && (
        <div class="empty">
          <h2>No jobs yet</h2>
          <p>Start a coding agent on one of your repositories.</p>
          <a class="btn primary" href="/new">New job</a>
        </div>
      )}
      {loaded.value && totalJobs.value > 0 && shown === 0 && <p class="empty small">No job matches “{filter.value}”.</p>}
      {all.map(
        (g) =>
          g.jobs.length > 0 && (
            <section class={`group group-${g.id}`} key={g.id} aria-labelledby={`group-${g.id}`} data-group={g.id}>
              <h2 id={`group-${g.id}`} class="group-title">
                {g.title} <span class="count">{g.jobs.length}</span>
              </h2>
              <div class="cards">
                {g.jobs.map((j) => (
                  <JobCard key={j.id} job={j} />
                ))}
              </div>
            </section>
          ),
      )}
      {loaded.value && finishedCursor.value && (
        <button type="button" class="btn ghost more" onClick={() => void loadMoreFinished()}>
          Show older jobs
        </button>
      )}
    </div>
  );
}
