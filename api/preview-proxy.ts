/**
 * ANY /api/preview/:port/* → http://127.0.0.1:<port>/* with streamed bodies
 * both ways. Runs after the request guard and the auth gate, so it needs the
 * same authentication as the API. The host is fixed: a URL can only choose
 * the port (see preview-target.ts for what is allowed).
 */
import { request as httpRequest } from 'node:http';
import type { Context, Next } from 'koa';
import { AppError } from '../machines/app-error.ts';
import type { HostPolicy } from './host-guard.ts';
import { PREVIEW_CSP, forwardRequestHeaders, keepResponseHeader, previewTarget, rewriteLocation } from './preview-target.ts';

export function previewProxy(hosts: HostPolicy) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const target = previewTarget(ctx.url, hosts.ownPort);
    if (!target) return next();
    const { port, path } = target;
    await new Promise<void>((resolve, reject) => {
      const upstream = httpRequest({ host: '127.0.0.1', port, method: ctx.method, path, headers: forwardRequestHeaders(ctx.req.headers, port) }, (res) => {
        ctx.respond = false;
        const headers: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const [name, value] = [res.rawHeaders[i]!, res.rawHeaders[i + 1]!];
          if (!keepResponseHeader(name, value) || name.toLowerCase() === 'x-frame-options') continue;
          headers.push(name, name.toLowerCase() === 'location' ? rewriteLocation(value, port) : value);
        }
        // The app's own CSP (if any) still applies; ours replaces CodePlane's and sandboxes the page.
        ctx.res.removeHeader('Content-Security-Policy');
        headers.push('Content-Security-Policy', PREVIEW_CSP, 'X-Frame-Options', 'SAMEORIGIN');
        ctx.res.writeHead(res.statusCode ?? 502, res.statusMessage, headers);
        res.pipe(ctx.res);
        res.once('error', () => ctx.res.destroy());
        ctx.res.once('close', () => {
          res.destroy();
          resolve();
        });
      });
      upstream.once('error', (err) => {
        if (ctx.res.headersSent) {
          ctx.res.destroy();
          resolve();
        } else reject(new AppError('unavailable', 'PREVIEW_UNREACHABLE', `nothing answers on port ${port} (${(err as NodeJS.ErrnoException).code ?? err.message})`));
      });
      ctx.res.once('close', () => upstream.destroy());
      ctx.req.pipe(upstream);
    });
  };
}
