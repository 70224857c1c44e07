import Router from '@koa/router';
import { invalid, notFound } from '../../machines/app-error.ts';
import type { HostPolicy } from '../host-guard.ts';
import type { Ports } from '../ports.ts';
import { queryString } from '../query.ts';
import { sendShareGone, sendSharePage } from '../share-page.ts';
import { parseLastEventId, streamEvents, type SseOptions } from '../sse.ts';

const gone = () => notFound('SHARE_NOT_FOUND', 'this share link is unknown, revoked or expired');

/**
 * Share links: creating and revoking them needs the usual auth; the views
 * (`/share/:token`, `/api/share/:token`, `/api/share/:token/events`) are
 * read-only and open to whoever holds a live token.
 */
export function shareRoutes(ports: Ports, opts: { hosts: HostPolicy; sse: Omit<SseOptions, 'lastEventId' | 'jobId'> }): Router {
  const r = new Router();
  r.post('/api/jobs/:id/shares', (ctx) => {
    const { token, expiresAt } = ports.shares.create(ctx.params['id']!);
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { token, url: `${opts.hosts.origin(ctx.req)}/share/${token}`, expiresAt };
  });
  r.delete('/api/shares/:token', (ctx) => {
    if (!ports.shares.revoke(ctx.params['token']!)) throw gone();
    ctx.status = 204;
  });
  r.get('/api/share/:token', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = ports.shares.view(ctx.params['token']!);
  });
  r.get('/api/share/:token/events', (ctx) => {
    const token = ctx.params['token']!;
    const stream = ports.shares.streamFor(token);
    if (stream === undefined) throw gone();
    const last = parseLastEventId(ctx.get('last-event-id') || undefined, queryString(ctx, 'lastEventId'));
    if (last === 'invalid') throw invalid('INVALID_LAST_EVENT_ID', 'Last-Event-ID must be a non-negative integer', 'lastEventId');
    // The same projection as the REST view: what a share shows cannot differ between the two.
    streamEvents(ctx, ports.events, { ...opts.sse, lastEventId: last, jobId: stream.jobId, project: stream.project });
    // The stream ends with the share: revoked or expired, the viewer is cut off at once.
    const stop = ports.shares.watch(token, () => ctx.res.destroy());
    ctx.req.once('close', stop);
  });
  r.get('/share/:token', (ctx) => {
    if (ports.shares.jobFor(ctx.params['token']!) === undefined) return sendShareGone(ctx, 404);
    sendSharePage(ctx);
  });
  return r;
}
