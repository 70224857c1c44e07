import Router from '@koa/router';
import type { Ports } from '../ports.ts';

export function systemRoutes(ports: Ports): Router {
  const r = new Router();
  r.get('/api/health', (ctx) => {
    ctx.body = ports.health();
  });
  return r;
}
