import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { narrow } from '../models/viewport.ts';
import type { TerminalStatus } from '../terminal/terminal-connection.ts';
import type { MountedTerminal } from '../terminal/xterm-terminal.ts';
import '../terminal/terminal.css';

/** Keys a phone keyboard lacks. */
const KEYS: [label: string, data: string, title: string][] = [
  ['Esc', '\x1b', 'Escape'],
  ['Tab', '\t', 'Tab'],
  ['Ctrl‑C', '\x03', 'Interrupt (Ctrl+C)'],
  ['Ctrl‑D', '\x04', 'End of input (Ctrl+D)'],
  ['↑', '\x1b[A', 'Up'],
  ['↓', '\x1b[B', 'Down'],
  ['←', '\x1b[D', 'Left'],
  ['→', '\x1b[C', 'Right'],
];

/** A shell in the job's worktree (xterm.js, loaded when the tab first opens). */
export function TerminalView({ jobId }: { jobId: string }) {
  const host = useRef<HTMLDivElement>(null);
  const mounted = useSignal<MountedTerminal | null>(null);
  const loadError = useSignal<string | null>(null);

  useEffect(() => {
    let disposed = false;
    let m: MountedTerminal | undefined;
    import('../terminal/xterm-terminal.ts')
      .then(({ mountTerminal }) => {
        if (disposed || !host.current) return;
        m = mountTerminal(host.current, jobId, { fontSize: narrow.peek() ? 12 : 13 });
        mounted.value = m;
        if (!narrow.peek()) m.focus(); // on a phone, focusing would pop the keyboard over the output
      })
      .catch((e: unknown) => (loadError.value = e instanceof Error ? e.message : String(e)));
    return () => {
      disposed = true;
      m?.dispose();
      mounted.value = null;
    };
  }, [jobId]);

  const m = mounted.value;
  const status = m?.connection.status.value;
  return (
    <div class="terminal" data-terminal-status={status?.kind ?? 'loading'}>
      {loadError.value ? (
        <p class="banner error" role="alert">Could not load the terminal: {loadError.value}</p>
      ) : (
        <StatusLine status={status} onConnect={() => m?.connection.connect()} />
      )}
      <div class="terminal-host" ref={host} />
      {m && narrow.value && (
        <div class="terminal-keys" role="toolbar" aria-label="Terminal keys">
          {KEYS.map(([label, data, title]) => (
            <button key={label} type="button" class="btn" title={title} aria-label={title} onMouseDown={(e) => e.preventDefault()} onClick={() => m.send(data)}>
              {label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

function StatusLine({ status, onConnect }: { status: TerminalStatus | undefined; onConnect: () => void }) {
  if (!status || status.kind === 'connecting') return <p class="terminal-status muted" aria-live="polite">{status ? 'Connecting…' : 'Loading the terminal…'}</p>;
  if (status.kind === 'open') return null;
  if (status.kind === 'retrying')
    return (
      <p class="terminal-status warn" aria-live="polite">
        {status.message}; reconnecting…{' '}
        <button type="button" class="btn ghost small" onClick={onConnect}>Retry now</button>
      </p>
    );
  return (
    <p class="terminal-status" role="status">
      {status.message}{' '}
      {status.action && <button type="button" class="btn small" onClick={onConnect}>{status.action}</button>}
    </p>
  );
}
