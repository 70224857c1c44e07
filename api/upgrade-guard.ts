/**
 * The defences every WebSocket upgrade gets. Koa never sees an upgrade, so
 * its request guard and auth gate do not run: these are the same checks,
 * applied by hand (allowed Host against DNS rebinding, same Origin against
 * cross-site WebSocket hijacking, no control characters or dot segments, no
 * share token, authentication when required).
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '../machines/app-error.ts';
import { isAuthenticated, offersShareToken, shareTokenForbidden } from './auth.ts';
import { toResponse } from './errors.ts';
import { hasDotSegment, originAllowed, type HostPolicy } from './host-guard.ts';
import type { AuthPort } from './ports.ts';

/** Throws the AppError the upgrade is refused with. */
export function guardUpgrade(req: IncomingMessage, d: { hosts: HostPolicy; auth: AuthPort }): void {
  if (!d.hosts.isAllowed(req.headers.host)) throw new AppError('forbidden', 'HOST_NOT_ALLOWED', 'this server does not answer to that host name');
  if (!originAllowed(req, d.hosts)) throw new AppError('forbidden', 'ORIGIN_NOT_ALLOWED', 'cross-origin WebSocket connections are refused');
  const url = req.url ?? '/';
  if (/%00|[\u0000-\u001f\u007f]/i.test(url) || hasDotSegment(url.split('?')[0]!)) throw new AppError('invalid', 'INVALID_PATH', 'the URL holds a control character or a dot segment');
  if (offersShareToken(req)) throw shareTokenForbidden();
  if (d.auth.required() && !isAuthenticated(d.auth, req)) throw new AppError('unauthenticated', 'UNAUTHENTICATED', 'log in or send Authorization: Bearer <token>');
}

/** Answers a refused upgrade with the API's JSON error body and closes the socket. */
export function refuseUpgrade(socket: Duplex, e: unknown): void {
  const { status, body } = toResponse(e);
  respondUpgrade(socket, status, body);
}

export function respondUpgrade(socket: Duplex, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
      `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${text}`,
  );
}
