import Router from '@koa/router';
import { object, str } from '../../machines/decode.ts';
import { readJson } from '../body.ts';
import type { Ports } from '../ports.ts';

const addBody = object({ path: str({ min: 1, max: 4096 }) });

export function repoRoutes(ports: Ports): Router {
  const r = new Router({ prefix: '/api/repos' });
  r.get('/', (ctx) => {
    ctx.body = ports.repos.list();
  });
  r.post('/', async (ctx) => {
    const { path } = await readJson(ctx, addBody);
    ctx.status = 201;
    ctx.body = await ports.repos.add(path);
  });
  r.delete('/:id', (ctx) => {
    ports.repos.remove(ctx.params['id']!);
    ctx.status = 204;
  });
  return r;
}
