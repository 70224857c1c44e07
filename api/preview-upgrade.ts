/**
 * WebSocket upgrades through the preview proxy. Koa never sees an upgrade, so
 * this handler applies the same defences itself (upgrade-guard.ts: allowed
 * Host, same Origin, no share token, authentication) before it joins the two
 * sockets.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '../machines/app-error.ts';
import { SESSION_COOKIE } from './auth.ts';
import type { HostPolicy } from './host-guard.ts';
import type { AuthPort } from './ports.ts';
import { forwardRequestHeaders, previewTarget } from './preview-target.ts';
import { guardUpgrade, refuseUpgrade, respondUpgrade as respond } from './upgrade-guard.ts';

function headerBlock(raw: string[], skip?: RegExp): string {
  let out = '';
  for (let i = 0; i < raw.length; i += 2) {
    const [name, value] = [raw[i]!, raw[i + 1]!];
    if (skip?.test(name)) continue;
    if (name.toLowerCase() === 'set-cookie' && value.trim().startsWith(`${SESSION_COOKIE}=`)) continue;
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

export function previewUpgradeHandler(d: { hosts: HostPolicy; auth: AuthPort }) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    let target: { port: number; path: string } | undefined;
    try {
      guardUpgrade(req, d);
      target = previewTarget(req.url ?? '/', d.hosts.ownPort);
      if (!target) throw new AppError('not_found', 'NOT_FOUND', 'only the preview proxy and job terminals accept WebSocket upgrades');
    } catch (e) {
      return refuseUpgrade(socket, e);
    }
    const { port, path } = target;
    const headers = { ...forwardRequestHeaders(req.headers, port), connection: 'Upgrade', upgrade: req.headers.upgrade ?? 'websocket' };
    const up = httpRequest({ host: '127.0.0.1', port, path, method: req.method, headers });
    up.once('upgrade', (res, upSocket, upHead) => {
      upSocket.on('error', () => socket.destroy());
      socket.on('close', () => upSocket.destroy());
      upSocket.on('close', () => socket.destroy());
      socket.write(`HTTP/1.1 101 ${res.statusMessage ?? 'Switching Protocols'}\r\n${headerBlock(res.rawHeaders)}\r\n`);
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      upSocket.pipe(socket).pipe(upSocket);
    });
    up.once('response', (res) => {
      // The app declined the upgrade: relay its answer and close.
      socket.write(`HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n${headerBlock(res.rawHeaders, /^(connection|transfer-encoding|keep-alive)$/i)}Connection: close\r\n\r\n`);
      res.pipe(socket);
    });
    up.once('error', (err) => respond(socket, 503, { error: { code: 'PREVIEW_UNREACHABLE', message: `nothing answers on port ${port} (${(err as NodeJS.ErrnoException).code ?? err.message})` } }));
    up.end();
  };
}
