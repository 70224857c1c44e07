/**
 * xterm.js bound to a job's terminal connection. Loaded on demand (a dynamic
 * import from TerminalView): xterm is several times the size of the rest of
 * the app and most visits never open a terminal.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { TerminalConnection } from './terminal-connection.ts';

export interface MountedTerminal {
  connection: TerminalConnection;
  /** Sends keys as if typed (the on-screen key bar for phone keyboards). */
  send(data: string): void;
  focus(): void;
  dispose(): void;
}

// A dark palette in both colour schemes: what terminal programs assume.
const THEME = {
  background: '#0f1216',
  foreground: '#e6e9ee',
  cursor: '#e6e9ee',
  selectionBackground: '#3a4a63',
  black: '#1f242c',
  brightBlack: '#6b7280',
};

export function mountTerminal(host: HTMLElement, jobId: string, opts: { fontSize: number }): MountedTerminal {
  const term = new Terminal({
    cursorBlink: true,
    fontFamily: getComputedStyle(host).getPropertyValue('--mono').trim() || 'monospace',
    fontSize: opts.fontSize,
    scrollback: 5000,
    theme: THEME,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(host);
  fitNow();

  const connection = new TerminalConnection(jobId, {
    output: (bytes) => term.write(bytes),
    reset: () => term.reset(),
    size: () => ({ cols: term.cols, rows: term.rows }),
  });
  const subscriptions = [
    term.onData((d) => connection.input(d)),
    // Some key sequences arrive as binary strings (one char per byte), not UTF-16 text.
    term.onBinary((d) => connection.input(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff))),
    term.onResize(({ cols, rows }) => connection.resize(cols, rows)),
  ];

  // Follow the container (window resize, phone rotation, the keyboard opening), once per frame.
  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(fitNow);
  });
  observer.observe(host);
  connection.connect();

  function fitNow(): void {
    // A hidden or zero-sized container has no dimensions to fit to.
    if (host.clientWidth > 0 && host.clientHeight > 0) fit.fit();
  }

  return {
    connection,
    send: (data) => {
      connection.input(data);
      term.focus();
    },
    focus: () => term.focus(),
    dispose: () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
      for (const s of subscriptions) s.dispose();
      connection.dispose();
      term.dispose();
    },
  };
}
