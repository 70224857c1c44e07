import Router from '@koa/router';
import { invalid } from '../../machines/app-error.ts';
import type { Ports } from '../ports.ts';
import { queryString } from '../query.ts';
import { parseLastEventId, streamEvents } from '../sse.ts';

export function eventRoutes(ports: Ports, opts: { heartbeatMs?: number; maxBufferedBytes?: number; slowClientMs?: number; replayPageSize?: number } = {}): Router {
  const r = new Router();
  r.get('/api/events', (ctx) => {
    const jobId = queryString(ctx, 'jobId');
    if (jobId !== undefined) ports.jobs.get(jobId); // 404 for an unknown job, before the stream opens
    const last = parseLastEventId(ctx.get('last-event-id') || undefined, queryString(ctx, 'lastEventId'));
    if (last === 'invalid') throw invalid('INVALID_LAST_EVENT_ID', 'Last-Event-ID must be a non-negative integer', 'lastEventId');
    streamEvents(ctx, ports.events, { ...opts, lastEventId: last, ...(jobId ? { jobId } : {}) });
  });
  return r;
}
