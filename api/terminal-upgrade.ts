/**
 * The handshake of GET /api/jobs/:id/terminal: the upgrade guard (same
 * defences as the API), the job check (404 JOB_NOT_FOUND, 409 NO_WORKTREE),
 * an optional initial size (`?cols=&rows=`, so the shell starts at the size
 * the browser shows), then the WebSocket, served by terminal-socket.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocketServer } from 'ws';
import { AppError, invalid } from '../machines/app-error.ts';
import type { HostPolicy } from './host-guard.ts';
import type { AuthPort, TerminalsPort } from './ports.ts';
import { MAX_FRAME_BYTES, MAX_TERMINAL_SIZE } from './terminal-protocol.ts';
import { serveTerminal, type TerminalSocketOptions } from './terminal-socket.ts';
import { guardUpgrade, refuseUpgrade } from './upgrade-guard.ts';

const TERMINAL_PATH = /^\/api\/jobs\/([^/?]+)\/terminal\/?$/;

const pathOf = (url: string | undefined): string => (url ?? '/').split('?')[0]!;
export const isTerminalPath = (url: string | undefined): boolean => TERMINAL_PATH.test(pathOf(url));

export interface TerminalUpgradeDeps {
  hosts: HostPolicy;
  auth: AuthPort;
  terminals: TerminalsPort;
  log: Logger;
  options?: TerminalSocketOptions;
}

export function terminalUpgradeHandler(d: TerminalUpgradeDeps) {
  // Loaded with the first terminal: the idle server never needs ws (about 50 ms of its start-up).
  // noServer: the one 'upgrade' listener (upgrade-router.ts) hands sockets over; no compression (terminal output is small and latency-bound).
  let wss: Promise<WebSocketServer> | undefined;
  const server = () => (wss ??= import('ws').then(({ WebSocketServer }) => new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES })));
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    let jobId: string;
    let size: { cols: number; rows: number } | undefined;
    try {
      guardUpgrade(req, d);
      if (req.method !== 'GET') throw invalid('INVALID_METHOD', 'a WebSocket handshake is a GET');
      jobId = jobIdOf(req.url);
      size = initialSize(new URL(req.url ?? '/', 'http://x').searchParams);
      d.terminals.check(jobId);
    } catch (e) {
      return refuseUpgrade(socket, e);
    }
    // handleUpgrade answers 400 itself to a request that is not a valid WebSocket handshake (and drops a socket closed meanwhile).
    server()
      .then(
        (wss) => wss.handleUpgrade(req, socket, head, (ws) => serveTerminal(ws, req, jobId, size, d)),
        (e: unknown) => refuseUpgrade(socket, e),
      )
      .catch(() => socket.destroy()); // never an unhandled rejection: the server stays up
  };
}

function jobIdOf(url: string | undefined): string {
  const raw = TERMINAL_PATH.exec(pathOf(url))?.[1];
  if (raw === undefined) throw new AppError('not_found', 'NOT_FOUND', 'no such terminal');
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalid('INVALID_PATH', 'the job id is not a valid URL component');
  }
}

/** `cols` and `rows` together, integers 1..1000, or neither. */
function initialSize(q: URLSearchParams): { cols: number; rows: number } | undefined {
  const [cols, rows] = [q.get('cols'), q.get('rows')];
  if (cols === null && rows === null) return undefined;
  const parse = (v: string | null, field: string): number => {
    const n = v !== null && /^\d{1,4}$/.test(v) ? Number(v) : NaN;
    if (!(n >= 1 && n <= MAX_TERMINAL_SIZE)) throw invalid('INVALID_INPUT', `${field} must be an integer from 1 to ${MAX_TERMINAL_SIZE}`, field);
    return n;
  };
  return { cols: parse(cols, 'cols'), rows: parse(rows, 'rows') };
}
