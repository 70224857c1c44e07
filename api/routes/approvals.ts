import Router from '@koa/router';
import { invalid } from '../../machines/app-error.ts';
import { literal, object, optional, str } from '../../machines/decode.ts';
import { readJson } from '../body.ts';
import type { Ports } from '../ports.ts';
import { queryString } from '../query.ts';

const resolveBody = object({ resolution: literal('approved', 'rejected'), note: optional(str({ max: 10_000 })) });

export function approvalRoutes(ports: Ports): Router {
  const r = new Router({ prefix: '/api/approvals' });
  r.get('/', (ctx) => {
    const state = queryString(ctx, 'state');
    if (state !== undefined && state !== 'pending' && state !== 'resolved') throw invalid('INVALID_QUERY', 'state must be pending or resolved', 'state');
    const jobId = queryString(ctx, 'jobId');
    ctx.body = ports.approvals.list({ ...(state ? { state } : {}), ...(jobId ? { jobId } : {}) });
  });
  r.post('/:id/resolve', async (ctx) => {
    const body = await readJson(ctx, resolveBody);
    ctx.body = ports.approvals.resolve(ctx.params['id']!, body.note === undefined ? { resolution: body.resolution } : { resolution: body.resolution, note: body.note });
  });
  return r;
}
