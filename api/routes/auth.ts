import Router from '@koa/router';
import type { Context } from 'koa';
import { AppError, conflict } from '../../machines/app-error.ts';
import { object, str } from '../../machines/decode.ts';
import { SESSION_COOKIE, isAuthenticated, sessionCookieOf } from '../auth.ts';
import { readJson } from '../body.ts';
import { sendLoginPage } from '../login-page.ts';
import type { HostPolicy } from '../host-guard.ts';
import { clientAddress, type LoginLimiter } from '../login-limiter.ts';
import type { AuthPort } from '../ports.ts';

const loginBody = object({ password: str({ min: 1, max: 1024 }) });

export interface AuthRouteOptions {
  hosts: HostPolicy;
  limiter: LoginLimiter;
  trustedProxies: readonly string[];
}

function setSessionCookie(ctx: Context, https: boolean, value: string, maxAgeSeconds: number): void {
  const attrs = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`];
  if (https) attrs.push('Secure');
  ctx.set('Set-Cookie', attrs.join('; '));
}

/** POST /api/auth/login {password} → session cookie; POST /api/auth/logout; GET /api/auth/status. */
export function authRoutes(auth: AuthPort, opts: AuthRouteOptions): Router {
  const r = new Router();
  r.post('/api/auth/login', async (ctx) => {
    const client = clientAddress(ctx.req, opts.trustedProxies);
    const wait = opts.limiter.retryAfter(client);
    if (wait > 0) {
      ctx.set('Retry-After', String(wait));
      throw new AppError('rate_limited', 'RATE_LIMITED', `too many failed logins; try again in ${wait} s`);
    }
    const { password } = await readJson(ctx, loginBody, 4096);
    if (!auth.required()) throw conflict('AUTH_NOT_CONFIGURED', 'no password is set; set one with `cpl password set` or CPL_PASSWORD');
    let session: Awaited<ReturnType<AuthPort['login']>>;
    try {
      session = await auth.login(password);
    } catch (e) {
      if (e instanceof Error && e.name === 'VerifierBusyError') throw new AppError('rate_limited', 'RATE_LIMITED', 'too many logins at once; try again');
      throw e;
    }
    if (!session) {
      opts.limiter.fail(client);
      throw new AppError('unauthenticated', 'INVALID_PASSWORD', 'wrong password');
    }
    opts.limiter.succeed(client);
    setSessionCookie(ctx, opts.hosts.isHttps(ctx.req), session.sessionId, Math.floor((Date.parse(session.expiresAt) - Date.now()) / 1000));
    ctx.body = { authenticated: true, expiresAt: session.expiresAt };
  });
  r.post('/api/auth/logout', (ctx) => {
    const session = sessionCookieOf(ctx.req);
    if (session !== undefined) auth.logout(session);
    setSessionCookie(ctx, opts.hosts.isHttps(ctx.req), '', 0);
    ctx.status = 204;
  });
  r.get('/api/auth/status', (ctx) => {
    const required = auth.required();
    ctx.body = { authRequired: required, authenticated: !required || isAuthenticated(auth, ctx.req) };
  });
  r.get('/login', (ctx) => {
    if (!auth.required() || isAuthenticated(auth, ctx.req)) return ctx.redirect('/');
    sendLoginPage(ctx);
  });
  return r;
}
