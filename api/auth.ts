/**
 * Who may call what. When authentication is required (CodePlane reachable
 * beyond loopback, or a password set) every request needs a session cookie
 * (from POST /api/auth/login) or `Authorization: Bearer <token>`, except:
 * GET /api/health, the login/logout/status endpoints, the static assets,
 * and the share views (their token is the credential). A share token offered
 * as a credential anywhere else is 403 SHARE_TOKEN_FORBIDDEN, in every mode.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, Next } from 'koa';
import { AppError } from '../machines/app-error.ts';
import { sendLoginPage } from './login-page.ts';
import type { AuthPort } from './ports.ts';

export const SESSION_COOKIE = 'cpl_session';
const SHARE_PREFIX = 'cps_';
const PUBLIC_ASSET = /^\/(?:assets\/|icons\/|manifest\.webmanifest$|sw\.js$|sw-push\.js$|favicon\.ico$|robots\.txt$)/;

/** The value of cookie `name` in the request, or undefined (also when empty). */
export function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

export const sessionCookieOf = (req: IncomingMessage): string | undefined => cookieOf(req, SESSION_COOKIE);

export function bearerOf(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** The read-only share views, where a share token (in the path) is the credential. */
export const isShareView = (method: string, path: string): boolean =>
  (method === 'GET' || method === 'HEAD') && /^\/(?:share|api\/share)\/[^/]+(?:\/events)?\/?$/.test(path) && !/^\/share\/[^/]+\/events/.test(path);

function isPublic(method: string, path: string): boolean {
  if (path === '/api/auth/login' || path === '/api/auth/logout') return method === 'POST';
  if (method !== 'GET' && method !== 'HEAD') return false;
  return path === '/api/health' || path === '/api/auth/status' || path === '/login' || PUBLIC_ASSET.test(path) || isShareView(method, path);
}

/** A share token offered as a credential: bearer, `X-Share-Token`, or a `token`/`share` query parameter. */
export function offersShareToken(req: IncomingMessage): boolean {
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  const offered = [bearerOf(req), req.headers['x-share-token'], query.get('token'), query.get('share'), query.get('shareToken')];
  return offered.some((v) => typeof v === 'string' && v.startsWith(SHARE_PREFIX));
}

export function isAuthenticated(auth: AuthPort, req: IncomingMessage): boolean {
  const bearer = bearerOf(req);
  if (bearer !== undefined && auth.tokenValid(bearer)) return true;
  const session = sessionCookieOf(req);
  return session !== undefined && auth.sessionValid(session);
}

const unauthenticated = () => new AppError('unauthenticated', 'UNAUTHENTICATED', 'log in (POST /api/auth/login) or send Authorization: Bearer <token>');
export const shareTokenForbidden = () => new AppError('forbidden', 'SHARE_TOKEN_FORBIDDEN', 'a share link only opens its own read-only view');

export function authGate(auth: AuthPort) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const view = isShareView(ctx.method, ctx.path);
    if (!view && offersShareToken(ctx.req)) throw shareTokenForbidden();
    if (isPublic(ctx.method, ctx.path) || !auth.required() || isAuthenticated(auth, ctx.req)) return next();
    // A browser opening a page gets a login form; anything else a JSON 401.
    if ((ctx.method === 'GET' || ctx.method === 'HEAD') && !ctx.path.startsWith('/api/') && ctx.accepts('html') === 'html') return sendLoginPage(ctx, 401);
    throw unauthenticated();
  };
}
