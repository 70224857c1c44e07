import Koa from 'koa';
import type { Logger } from 'pino';
import { authGate } from './auth.ts';
import { errorMiddleware } from './errors.ts';
import { HostPolicy, requestGuard } from './host-guard.ts';
import { ClientKeys } from './client-address.ts';
import { HashSlots } from './hash-slots.ts';
import { LoginLimiter } from './login-limiter.ts';
import type { Ports } from './ports.ts';
import { previewProxy } from './preview-proxy.ts';
import { authRoutes } from './routes/auth.ts';
import { pushRoutes } from './routes/push.ts';
import { shareRoutes } from './routes/shares.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { eventRoutes } from './routes/events.ts';
import { jobRoutes } from './routes/jobs.ts';
import { repoRoutes } from './routes/repos.ts';
import { reviewRoutes } from './routes/review.ts';
import { systemRoutes } from './routes/system.ts';
import { agentRoutes } from './routes/agents.ts';
import { staticRoutes } from './routes/static.ts';

export interface AppOptions {
  log: Logger;
  heartbeatMs?: number;
  /** Bytes queued for one SSE client before it is cut off as too slow. */
  sseMaxBufferedBytes?: number;
  sseSlowClientMs?: number;
  /** Events per replay page (a long replay is written page by page, yielding between pages). */
  sseReplayPageSize?: number;
  /** Host names this server answers to (and which are HTTPS-only); defaults to the loopback names. */
  hosts?: HostPolicy;
  /** Who a login attempt comes from (trusted proxies, our tunnel); defaults to the socket peer. */
  clientKeys?: ClientKeys;
  loginLimiter?: LoginLimiter;
  /** The built browser UI's directory (the supervisor knows where it is installed). */
  uiDir: string;
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  // Inline styles only: the terminal (xterm.js) writes its measured cell size and palette into <style> elements and style
  // attributes. Scripts stay 'self'-only, which is what stops injected markup from running.
  'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

/** The Koa application: no business logic, only HTTP ⇄ ports. */
export function createApp(ports: Ports, opts: AppOptions): Koa {
  const app = new Koa();
  app.proxy = false;
  const hosts = opts.hosts ?? new HostPolicy();
  const sse = {
    ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
    ...(opts.sseMaxBufferedBytes ? { maxBufferedBytes: opts.sseMaxBufferedBytes } : {}),
    ...(opts.sseSlowClientMs ? { slowClientMs: opts.sseSlowClientMs } : {}),
    ...(opts.sseReplayPageSize ? { replayPageSize: opts.sseReplayPageSize } : {}),
  };
  app.use(async (ctx, next) => {
    ctx.set(SECURITY_HEADERS);
    if (hosts.isHttps(ctx.req)) ctx.set('Strict-Transport-Security', 'max-age=31536000');
    await next();
  });
  app.use(errorMiddleware(opts.log));
  app.use(requestGuard(hosts));
  app.use(authGate(ports.auth));
  app.use(previewProxy(hosts));
  for (const router of [
    systemRoutes(ports),
    agentRoutes(ports),
    authRoutes(ports.auth, { hosts, limiter: opts.loginLimiter ?? new LoginLimiter(), slots: new HashSlots(), clients: opts.clientKeys ?? new ClientKeys(), log: opts.log }),
    shareRoutes(ports, { hosts, sse }),
    pushRoutes(ports),
    repoRoutes(ports),
    jobRoutes(ports),
    reviewRoutes(ports),
    approvalRoutes(ports),
    eventRoutes(ports, sse),
  ]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  app.use(staticRoutes({ root: opts.uiDir }));
  return app;
}
