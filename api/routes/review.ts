import Router from '@koa/router';
import { literal, object, optional } from '../../machines/decode.ts';
import { readJson } from '../body.ts';
import type { Ports } from '../ports.ts';
import { queryInt } from '../query.ts';

const resolveBody = object({ action: literal('merge', 'create_pr', 'discard'), strategy: optional(literal('merge', 'squash', 'ff-only')) });

/** Diff review and landing: GET /api/jobs/:id/diff, POST /api/jobs/:id/resolve. */
export function reviewRoutes(ports: Ports): Router {
  const r = new Router({ prefix: '/api/jobs' });
  r.get('/:id/diff', async (ctx) => {
    const offset = queryInt(ctx, 'offset', { min: 0 });
    // The maxima a caller may ask for (the supervisor clamps to the same; by default a page is 1,000 files / 4 MB).
    const maxFiles = queryInt(ctx, 'maxFiles', { min: 1, max: 10_000 });
    const maxBytes = queryInt(ctx, 'maxBytes', { min: 1024, max: 50 * 1024 * 1024 });
    ctx.body = await ports.review.diff(ctx.params['id']!, {
      ...(offset !== undefined ? { offset } : {}),
      ...(maxFiles !== undefined ? { maxFiles } : {}),
      ...(maxBytes !== undefined ? { maxBytes } : {}),
    });
  });
  r.post('/:id/resolve', async (ctx) => {
    const body = await readJson(ctx, resolveBody);
    ctx.body = await ports.review.resolve(ctx.params['id']!, body.action, body.strategy ? { strategy: body.strategy } : {});
  });
  return r;
}
