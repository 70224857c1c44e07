import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { time } from '../format.ts';
import type { JobModel } from '../models/job-model.ts';

const LEVELS = ['debug', 'info', 'warn', 'error'];

/** The job's log lines, live. */
export function LogsView({ model }: { model: JobModel }) {
  const min = useSignal('debug');
  useEffect(() => {
    if (!model.logs.value) void model.loadLogs();
  }, [model]);
  const logs = model.logs.value;
  if (!logs) return <div class="loading pad">Loading logs…</div>;
  const floor = LEVELS.indexOf(min.value);
  const shown = logs.filter((l) => LEVELS.indexOf(l.level) >= floor).slice(-2000);
  return (
    <div class="logs">
      <div class="diff-toolbar">
        <span class="muted">{shown.length} lines</span>
        <label class="inline">
          Level{' '}
          <select value={min.value} onChange={(e) => (min.value = e.currentTarget.value)}>
            {LEVELS.map((l) => <option key={l} value={l}>{l}+</option>)}
          </select>
        </label>
      </div>
      {shown.length === 0 ? (
        <p class="empty small">No log lines.</p>
      ) : (
        <ol class="log-lines">
          {shown.map((l) => (
            <li key={l.seq} class={`log ${l.level}`}>
              <time>{time(l.ts)}</time>
              <span class="lvl">{l.level}</span>
              <span class="lmsg">{l.message}</span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
