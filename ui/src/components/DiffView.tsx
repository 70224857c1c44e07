import { diffMode, setDiffMode } from '../models/diff-model.ts';
import type { JobModel } from '../models/job-model.ts';
import { narrow } from '../models/viewport.ts';
import { DiffFileView, fileAnchor } from './DiffFileView.tsx';

/** The job's changes: stats, mode toggle, file list and the files themselves. */
export function DiffView({ model }: { model: JobModel }) {
  const dm = model.diff;
  const d = dm.diff.value;
  if (dm.state.value === 'loading' && !d) return <div class="loading pad">Loading changes…</div>;
  if (dm.state.value === 'error' && !d) return <p class="banner error">Could not load the diff: {dm.error.value}</p>;
  if (!d) return null;
  const mode = narrow.value ? 'unified' : diffMode.value;
  return (
    <div class="diff">
      <div class="diff-toolbar">
        <span class="diff-total">
          {d.stats.files} {d.stats.files === 1 ? 'file' : 'files'} <span class="add">+{d.stats.additions}</span> <span class="del">−{d.stats.deletions}</span>
        </span>
        {!narrow.value && (
          <div class="seg" role="group" aria-label="Diff layout">
            <button type="button" aria-pressed={mode === 'unified'} onClick={() => setDiffMode('unified')}>Unified</button>
            <button type="button" aria-pressed={mode === 'split'} onClick={() => setDiffMode('split')}>Split</button>
          </div>
        )}
      </div>
      {d.files.length === 0 ? (
        <p class="empty small">No changes yet.</p>
      ) : (
        <div class="diff-layout">
          <nav class="file-list" aria-label="Changed files">
            {d.files.map((f) => (
              <a key={f.path} href={`#${fileAnchor(f.path)}`} class="file-link" title={f.path}
                onClick={(e) => { e.preventDefault(); document.getElementById(fileAnchor(f.path))?.scrollIntoView({ block: 'start' }); }}>
                <span class={`fstatus ${f.status}`}>{f.status[0]!.toUpperCase()}</span>
                <span class="fpath">{f.path}</span>
                <span class="diffstat"><span class="add">+{f.additions}</span> <span class="del">−{f.deletions}</span></span>
              </a>
            ))}
          </nav>
          <div class="diff-files">
            {d.files.map((f) => <DiffFileView key={f.path} file={f} mode={mode} />)}
            {d.truncated && (
              <button type="button" class="btn ghost more" disabled={dm.loadingMore.value} onClick={() => void dm.loadMore()}>
                {dm.loadingMore.value ? 'Loading…' : 'Load more files'}
              </button>
            )}
          </div>
        </div>
      )}
    </div>
  );
}
