import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { AppError, type AppErrorKind } from '../machines/app-error.ts';
import { DecodeError } from '../machines/decode.ts';
import { discardBody } from './body.ts';
import type { ApiErrorBody } from './contract.ts';

const STATUS: Record<AppErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};

/** The one error middleware: every failure leaves as `{error: {code, message}}` with a stable code. */
export function errorMiddleware(log: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined && ctx.respond !== false) throw new AppError('not_found', 'NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`);
    } catch (e) {
      const { status, body } = toResponse(e);
      discardBody(ctx);
      const storage = e instanceof AppError && e.code === 'STORAGE_UNAVAILABLE';
      // A refused write while the storage is read-only is said once, when the state changes (server.ts), not per request.
      if (status >= 500 && !storage) log.error({ err: e, path: ctx.path, method: ctx.method }, 'request failed');
      if (storage) ctx.set('Retry-After', '5');
      ctx.status = status;
      ctx.body = body;
      if (status === 405 && e instanceof Error && 'headers' in e) ctx.set('Allow', String((e as { headers?: { Allow?: string } }).headers?.Allow ?? ''));
    }
  };
}

export function toResponse(e: unknown): { status: number; body: ApiErrorBody } {
  if (e instanceof AppError) {
    const error: ApiErrorBody['error'] = { code: e.code, message: e.message };
    if (e.extra.field) error.field = e.extra.field;
    if (e.extra.details) error.details = e.extra.details;
    return { status: STATUS[e.kind], body: { error } };
  }
  if (e instanceof DecodeError)
    return { status: 400, body: { error: { code: 'INVALID_INPUT', message: e.message, field: e.field } } };
  // Koa's http-errors (e.g. router 405/501) carry a status; keep it, with a code.
  const status = typeof e === 'object' && e !== null && 'status' in e && typeof e.status === 'number' ? e.status : 500;
  if (status < 500) {
    const message = e instanceof Error ? e.message : 'request refused';
    return { status, body: { error: { code: status === 405 ? 'METHOD_NOT_ALLOWED' : 'BAD_REQUEST', message } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error; see the server log' } } };
}
