/**
 * The job terminal's WebSocket protocol (GET /api/jobs/:id/terminal):
 *  - binary frames carry terminal bytes, both ways (UTF-8 from the shell);
 *  - text frames from the client are JSON control messages:
 *    `{"type":"resize","cols":N,"rows":N}` (integers 1..1000) and
 *    `{"type":"input","data":"…"}` (keystrokes as text, for clients that
 *    cannot send binary);
 *  - the server ends with a close code from TERMINAL_CLOSE and a reason
 *    `CODE: message` (a stable code first, like the HTTP error bodies).
 * Anything malformed closes the socket with 1008 (policy violation).
 * ui/src/terminal/terminal-connection.ts mirrors the close codes.
 */
import { int, literal, object, str, type Decoder } from '../machines/decode.ts';
import type { TerminalEnd } from './ports.ts';

export const TERMINAL_CLOSE = {
  /** The server is stopping: reconnect later. */
  SERVER_STOPPING: 1001,
  /** A malformed or unknown control message. */
  INVALID_MESSAGE: 1008,
  /** The job was resolved: its terminal is gone for good. */
  JOB_RESOLVED: 4001,
  /** The shell exited (`exit`, Ctrl-D): a new attachment starts a fresh one. */
  SHELL_EXITED: 4002,
  /** The job has no worktree (any more). */
  NO_WORKTREE: 4009,
  /** The client did not read the output for too long. */
  TOO_SLOW: 4008,
  /** The session or token stopped being valid while the terminal was open. */
  UNAUTHENTICATED: 4401,
} as const;

export const CLOSE_FOR_END: Record<TerminalEnd, number> = {
  job_resolved: TERMINAL_CLOSE.JOB_RESOLVED,
  shell_exited: TERMINAL_CLOSE.SHELL_EXITED,
  server_stopping: TERMINAL_CLOSE.SERVER_STOPPING,
};

export const MAX_TERMINAL_SIZE = 1000;
/** A paste larger than this is refused by the WebSocket layer (close 1009). */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Keystrokes as text: well under a frame. */
const MAX_INPUT_CHARS = 256 * 1024;

export type TerminalControl = { type: 'resize'; cols: number; rows: number } | { type: 'input'; data: string };

const dimension = int({ min: 1, max: MAX_TERMINAL_SIZE });
const resize = object({ type: literal('resize'), cols: dimension, rows: dimension });
const input = object({ type: literal('input'), data: str({ max: MAX_INPUT_CHARS }) });
const kind = object({ type: literal('resize', 'input') });

export const terminalControlDecoder: Decoder<TerminalControl> = (v, f) => {
  const { type } = kind(v, f);
  return type === 'resize' ? resize(v, f) : input(v, f);
};

/** A close reason within the protocol's 123 bytes, cut on a character boundary. */
export function closeReason(code: string, message: string): string {
  let text = `${code}: ${message}`;
  while (Buffer.byteLength(text) > 123) text = text.slice(0, -1);
  return text;
}
