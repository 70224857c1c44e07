import Router from '@koa/router';
import type { Ports } from '../ports.ts';

/** `GET /api/agents` (can each agent run here?) and `GET /api/agents/:id/models`. */
export function agentRoutes(ports: Ports): Router {
  const r = new Router({ prefix: '/api/agents' });
  r.get('/', async (ctx) => {
    ctx.body = await ports.agents.list();
  });
  r.get('/:id/models', async (ctx) => {
    ctx.body = await ports.agents.models(ctx.params['id']!);
  });
  return r;
}
