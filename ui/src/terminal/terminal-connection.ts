/**
 * The browser side of a job terminal's WebSocket (protocol: api/terminal-protocol.ts):
 * keystrokes out as binary frames, resizes as JSON text frames, output in as
 * binary frames. It reconnects with a backoff when the connection drops (the
 * server replays the scrollback, so the screen is reset first) and stops for
 * good when the server says the terminal is over.
 */
import { signal } from '@preact/signals';

/** Mirrors TERMINAL_CLOSE in api/terminal-protocol.ts (ui/ imports only types from api/). */
const CLOSE = { SERVER_STOPPING: 1001, INVALID_MESSAGE: 1008, JOB_RESOLVED: 4001, SHELL_EXITED: 4002, TOO_SLOW: 4008, NO_WORKTREE: 4009, UNAUTHENTICATED: 4401 } as const;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

export type TerminalStatus =
  | { kind: 'connecting' }
  | { kind: 'open' }
  | { kind: 'retrying'; at: number; message: string }
  /** `action`: what a new connection would do, when one makes sense. */
  | { kind: 'ended'; message: string; action?: 'Start a new shell' | 'Reconnect' };

export interface TerminalIo {
  /** Bytes from the shell. */
  output(bytes: Uint8Array): void;
  /** Called on each (re)connection, before the replayed scrollback arrives. */
  reset(): void;
  size(): { cols: number; rows: number };
}

export class TerminalConnection {
  readonly status = signal<TerminalStatus>({ kind: 'connecting' });
  private ws: WebSocket | undefined;
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly jobId: string,
    private readonly io: TerminalIo,
  ) {}

  connect(): void {
    if (this.disposed) return;
    clearTimeout(this.retryTimer);
    this.ws?.close();
    const { cols, rows } = this.io.size();
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/api/jobs/${encodeURIComponent(this.jobId)}/terminal?cols=${cols}&rows=${rows}`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.status.value = { kind: 'connecting' };
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.failures = 0;
      this.io.reset();
      this.status.value = { kind: 'open' };
      // The size may have changed while connecting.
      const now = this.io.size();
      if (now.cols !== cols || now.rows !== rows) this.resize(now.cols, now.rows);
    };
    ws.onmessage = (e: MessageEvent<unknown>) => {
      if (e.data instanceof ArrayBuffer) this.io.output(new Uint8Array(e.data));
    };
    ws.onclose = (e) => {
      if (this.ws !== ws || this.disposed) return;
      this.ws = undefined;
      this.closed(e.code, e.reason, opened);
    };
  }

  /** Keystrokes; dropped while disconnected (typing into a dead terminal must not replay later). */
  input(data: string | Uint8Array<ArrayBuffer>): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(typeof data === 'string' ? this.encoder.encode(data) : data);
  }

  resize(cols: number, rows: number): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return; // the next connection sends its size in the URL
    this.ws.send(JSON.stringify({ type: 'resize', cols, rows }));
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    this.ws?.close(1000);
    this.ws = undefined;
  }

  private closed(code: number, reason: string, opened: boolean): void {
    const text = reason.replace(/^[A-Z_]+: /, '');
    const message = text.charAt(0).toUpperCase() + text.slice(1);
    switch (code) {
      case CLOSE.JOB_RESOLVED:
      case CLOSE.NO_WORKTREE:
        return void (this.status.value = { kind: 'ended', message: message || 'This job has no terminal any more.' });
      case CLOSE.SHELL_EXITED:
        return void (this.status.value = { kind: 'ended', message: `${message || 'The shell exited'}.`, action: 'Start a new shell' });
      case CLOSE.UNAUTHENTICATED:
        return void (this.status.value = { kind: 'ended', message: 'Your session ended. Reload the page to log in again.', action: 'Reconnect' });
      case CLOSE.INVALID_MESSAGE:
        return void (this.status.value = { kind: 'ended', message: `The server closed the terminal: ${message}`, action: 'Reconnect' });
    }
    // Dropped, refused (a browser hides the HTTP status of a refused handshake), server stopping, or too slow: try again.
    if (!opened) this.failures++;
    const delay = code === CLOSE.TOO_SLOW ? 0 : BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)]!;
    const why = code === CLOSE.SERVER_STOPPING ? 'The server is restarting' : opened ? 'The connection dropped' : 'Cannot reach the terminal';
    this.status.value = { kind: 'retrying', at: Date.now() + delay, message: why };
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
