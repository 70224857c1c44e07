import Router from '@koa/router';
import { notFound } from '../../machines/app-error.ts';
import { object, str } from '../../machines/decode.ts';
import { readJson } from '../body.ts';
import type { Ports } from '../ports.ts';

const endpoint = str({ min: 1, max: 2048 });
const subscribeBody = object({
  endpoint,
  // Browsers' PushSubscription.toJSON() also carries expirationTime.
  expirationTime: (v: unknown) => v,
  keys: object({ p256dh: str({ min: 1, max: 200 }), auth: str({ min: 1, max: 100 }) }),
});
const unsubscribeBody = object({ endpoint });

/** GET /api/push/vapid-public-key, POST and DELETE /api/push/subscriptions. */
export function pushRoutes(ports: Ports): Router {
  const r = new Router({ prefix: '/api/push' });
  r.get('/vapid-public-key', (ctx) => {
    ctx.body = { publicKey: ports.push.publicKey() };
  });
  r.post('/subscriptions', async (ctx) => {
    const { endpoint, keys } = await readJson(ctx, subscribeBody);
    ports.push.subscribe({ endpoint, keys });
    ctx.status = 201;
    ctx.body = { endpoint };
  });
  r.delete('/subscriptions', async (ctx) => {
    const { endpoint } = await readJson(ctx, unsubscribeBody);
    if (!ports.push.unsubscribe(endpoint)) throw notFound('SUBSCRIPTION_NOT_FOUND', 'no such push subscription');
    ctx.status = 204;
  });
  return r;
}
