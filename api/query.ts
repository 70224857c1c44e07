import type { Context } from 'koa';
import { invalid } from '../machines/app-error.ts';

/** A single query-string value (a repeated parameter is refused, not silently picked). */
export function queryString(ctx: Context, name: string): string | undefined {
  const v = ctx.query[name];
  if (Array.isArray(v)) throw invalid('INVALID_QUERY', `${name} given more than once`, name);
  return v;
}

export function queryInt(ctx: Context, name: string, opts: { min?: number; max?: number; fallback: number }): number;
export function queryInt(ctx: Context, name: string, opts: { min?: number; max?: number }): number | undefined;
export function queryInt(ctx: Context, name: string, opts: { min?: number; max?: number; fallback?: number }): number | undefined {
  const raw = queryString(ctx, name);
  if (raw === undefined || raw === '') return opts.fallback;
  if (!/^-?\d{1,15}$/.test(raw)) throw invalid('INVALID_QUERY', `${name} must be an integer`, name);
  const n = Number(raw);
  if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max))
    throw invalid('INVALID_QUERY', `${name} must be between ${opts.min ?? '-∞'} and ${opts.max ?? '∞'}`, name);
  return n;
}
