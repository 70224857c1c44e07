/**
 * One open terminal WebSocket: bridges it to the job's shell (ports.ts
 * TerminalsPort) with the protocol of terminal-protocol.ts, flow control (a
 * reader that falls behind pauses the shell's output, one that stays behind
 * is dropped and may reconnect to the scrollback), keep-alive pings, and a
 * periodic look at the credentials it was opened with (logging out ends it).
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { WebSocket, RawData } from 'ws';
import { AppError } from '../machines/app-error.ts';
import { decode } from '../machines/decode.ts';
import { isAuthenticated } from './auth.ts';
import type { AuthPort, TerminalAttachment, TerminalsPort } from './ports.ts';
import { CLOSE_FOR_END, TERMINAL_CLOSE, closeReason, terminalControlDecoder } from './terminal-protocol.ts';

export interface TerminalSocketOptions {
  /** Above this many unsent bytes the shell's output pauses; it resumes below a quarter of it. */
  highWaterBytes?: number;
  /** A client backed up this long is disconnected. */
  slowClientMs?: number;
  /** Ping interval; a client that misses a pong is dropped. Credentials are re-checked at the same pace. */
  keepAliveMs?: number;
}

export interface TerminalSocketDeps {
  terminals: TerminalsPort;
  auth: AuthPort;
  log: Logger;
  options?: TerminalSocketOptions;
}

export function serveTerminal(ws: WebSocket, req: IncomingMessage, jobId: string, size: { cols: number; rows: number } | undefined, d: TerminalSocketDeps): void {
  const high = d.options?.highWaterBytes ?? 1024 * 1024;
  const low = Math.floor(high / 4);
  let attachment: TerminalAttachment | undefined;
  let backedUp = false;
  let slowTimer: NodeJS.Timeout | undefined;
  let alive = true;
  let closing = false;

  const close = (code: number, errorCode: string, message: string): void => {
    if (ws.readyState !== ws.OPEN && ws.readyState !== ws.CONNECTING) return;
    closing = true;
    attachment?.detach(); // at once: a slow reader must not hold the shell paused for the others until its socket is gone
    ws.close(code, closeReason(errorCode, message));
    // A peer that never answers the close frame must not hold the socket (or a stopping server) open.
    setTimeout(() => ws.terminate(), 2000).unref();
  };

  const setBackedUp = (on: boolean): void => {
    // A closing socket drains (or fails) its buffer: that is no reason to resume the shell.
    if (closing || on === backedUp) return;
    backedUp = on;
    attachment?.backedUp(on);
    clearTimeout(slowTimer);
    if (on) slowTimer = setTimeout(() => close(TERMINAL_CLOSE.TOO_SLOW, 'TOO_SLOW', 'the terminal output was not read in time; reconnect to see it'), d.options?.slowClientMs ?? 15_000);
  };

  const output = (data: string): void => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(Buffer.from(data, 'utf8'), { binary: true }, (err) => {
      if (!err && backedUp && ws.bufferedAmount < low) setBackedUp(false);
    });
    if (ws.bufferedAmount > high) setBackedUp(true);
  };

  try {
    attachment = d.terminals.attach(jobId, { output, end: (reason, message) => close(CLOSE_FOR_END[reason], reason.toUpperCase(), message) }, size);
  } catch (e) {
    // The job changed between the handshake checks and now (resolved, or the server began to stop).
    const [code, errorCode] = e instanceof AppError && e.code === 'SERVER_STOPPING' ? [TERMINAL_CLOSE.SERVER_STOPPING, e.code] : [TERMINAL_CLOSE.NO_WORKTREE, e instanceof AppError ? e.code : 'TERMINAL_FAILED'];
    if (!(e instanceof AppError)) d.log.error({ err: e, jobId }, 'terminal attach failed');
    close(code, errorCode, e instanceof Error ? e.message : String(e));
    return;
  }
  const att = attachment;
  if (backedUp) att.backedUp(true); // the replay alone filled the socket

  ws.on('message', (data: RawData, isBinary: boolean) => {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) return att.input(bytes);
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      return close(TERMINAL_CLOSE.INVALID_MESSAGE, 'INVALID_MESSAGE', 'text frames must be JSON control messages; send keystrokes as binary frames');
    }
    const msg = decode(terminalControlDecoder, value);
    if (!msg.ok) return close(TERMINAL_CLOSE.INVALID_MESSAGE, 'INVALID_MESSAGE', msg.error.message);
    if (msg.value.type === 'resize') att.resize(msg.value.cols, msg.value.rows);
    else att.input(msg.value.data);
  });
  ws.on('pong', () => (alive = true));
  const keepAlive = setInterval(() => {
    if (d.auth.required() && !isAuthenticated(d.auth, req)) return close(TERMINAL_CLOSE.UNAUTHENTICATED, 'UNAUTHENTICATED', 'the session ended; log in again');
    if (!alive) return ws.terminate();
    alive = false;
    ws.ping();
  }, d.options?.keepAliveMs ?? 30_000);
  keepAlive.unref();
  // ws reports protocol violations (oversized frame, bad UTF-8) here and closes the socket itself.
  ws.on('error', (err) => d.log.debug({ err, jobId }, 'terminal socket error'));
  ws.on('close', () => {
    clearInterval(keepAlive);
    clearTimeout(slowTimer);
    att.detach();
  });
}
