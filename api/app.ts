import Koa from 'koa';
import type { Logger } from 'pino';
import { errorMiddleware } from './errors.ts';
import type { Ports } from './ports.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { eventRoutes } from './routes/events.ts';
import { jobRoutes } from './routes/jobs.ts';
import { repoRoutes } from './routes/repos.ts';
import { reviewRoutes } from './routes/review.ts';
import { systemRoutes } from './routes/system.ts';
import { staticRoutes } from './routes/static.ts';

export interface AppOptions {
  log: Logger;
  heartbeatMs?: number;
  /** Bytes queued for one SSE client before it is cut off as too slow. */
  sseMaxBufferedBytes?: number;
  sseSlowClientMs?: number;
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

/** The Koa application: no business logic, only HTTP ⇄ ports. */
export function createApp(ports: Ports, opts: AppOptions): Koa {
  const app = new Koa();
  app.proxy = false;
  app.use(async (ctx, next) => {
    ctx.set(SECURITY_HEADERS);
    await next();
  });
  app.use(errorMiddleware(opts.log));
  for (const router of [
    systemRoutes(ports),
    repoRoutes(ports),
    jobRoutes(ports),
    reviewRoutes(ports),
    approvalRoutes(ports),
    eventRoutes(ports, {
      ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
      ...(opts.sseMaxBufferedBytes ? { maxBufferedBytes: opts.sseMaxBufferedBytes } : {}),
      ...(opts.sseSlowClientMs ? { slowClientMs: opts.sseSlowClientMs } : {}),
    }),
    staticRoutes(),
  ]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  return app;
}
