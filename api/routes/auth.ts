import Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { AppError, conflict } from '../../machines/app-error.ts';
import { object, str } from '../../machines/decode.ts';
import { SESSION_COOKIE, cookieOf, isAuthenticated, sessionCookieOf } from '../auth.ts';
import { readJson } from '../body.ts';
import type { ClientKeys } from '../client-address.ts';
import { sendLoginPage } from '../login-page.ts';
import type { HostPolicy } from '../host-guard.ts';
import type { HashSlots } from '../hash-slots.ts';
import type { Admission, LoginLimiter } from '../login-limiter.ts';
import type { AuthPort } from '../ports.ts';

const loginBody = object({ password: str({ min: 1, max: 1024 }) });
/** Names a browser that logged in before, to the login limiter only (it grants nothing else). */
export const DEVICE_COOKIE = 'cpl_device';
const DEVICE_MAX_AGE_S = 365 * 24 * 3600;

export interface AuthRouteOptions {
  hosts: HostPolicy;
  limiter: LoginLimiter;
  slots: HashSlots;
  clients: ClientKeys;
  log: Logger;
}

function cookie(ctx: Context, https: boolean, name: string, value: string, maxAgeSeconds: number, path = '/'): void {
  const attrs = [`${name}=${value}`, `Path=${path}`, 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`];
  if (https) attrs.push('Secure');
  ctx.append('Set-Cookie', attrs.join('; '));
}

function refuse(ctx: Context, a: Extract<Admission, { ok: false }>): never {
  ctx.set('Retry-After', String(a.retryAfterSeconds));
  const who = a.scope === 'client' ? 'too many failed logins from this client' : 'too many logins from everywhere';
  throw new AppError('rate_limited', 'RATE_LIMITED', `${who}; try again in ${a.retryAfterSeconds} s`);
}

/** POST /api/auth/login {password} → session cookie; POST /api/auth/logout; GET /api/auth/status. */
export function authRoutes(auth: AuthPort, opts: AuthRouteOptions): Router {
  const r = new Router();
  r.post('/api/auth/login', async (ctx) => {
    const offered = cookieOf(ctx.req, DEVICE_COOKIE);
    const device = offered === undefined ? undefined : auth.deviceOf(offered);
    const client = device ?? opts.clients.keyOf(ctx.req);
    const lane = device !== undefined;
    // A refused client goes before its body is read; the real decision (check and count in one step) is below.
    const early = opts.limiter.peek(client, lane);
    if (!early.ok) refuse(ctx, early);
    const { password } = await readJson(ctx, loginBody, 4096);
    if (!auth.required()) throw conflict('AUTH_NOT_CONFIGURED', 'no password is set; set one with `cpl password set` or CPL_PASSWORD');
    const admission = opts.limiter.admit(client, lane);
    if (!admission.ok) refuse(ctx, admission);
    const turn = opts.slots.acquire(lane);
    if (!turn) {
      admission.refund();
      ctx.set('Retry-After', '1');
      throw new AppError('rate_limited', 'RATE_LIMITED', 'too many logins at once; try again');
    }
    const release = await turn;
    let session: Awaited<ReturnType<AuthPort['login']>>;
    try {
      session = await auth.login(password);
    } catch (e) {
      opts.limiter.failed(client);
      if (e instanceof Error && e.name === 'VerifierBusyError') throw new AppError('rate_limited', 'RATE_LIMITED', 'too many logins at once; try again');
      throw e;
    } finally {
      release();
    }
    // One line per password checked: the audit trail of guesses (never the password).
    opts.log.info({ client, device: lane, ok: session !== undefined }, 'login attempt checked');
    if (!session) {
      opts.limiter.failed(client);
      throw new AppError('unauthenticated', 'INVALID_PASSWORD', 'wrong password');
    }
    opts.limiter.succeed(client);
    const https = opts.hosts.isHttps(ctx.req);
    cookie(ctx, https, SESSION_COOKIE, session.sessionId, Math.floor((Date.parse(session.expiresAt) - Date.now()) / 1000));
    cookie(ctx, https, DEVICE_COOKIE, device === undefined ? auth.newDeviceCookie() : offered!, DEVICE_MAX_AGE_S, '/api/auth/login');
    ctx.body = { authenticated: true, expiresAt: session.expiresAt };
  });
  r.post('/api/auth/logout', (ctx) => {
    const session = sessionCookieOf(ctx.req);
    if (session !== undefined) auth.logout(session);
    cookie(ctx, opts.hosts.isHttps(ctx.req), SESSION_COOKIE, '', 0);
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
