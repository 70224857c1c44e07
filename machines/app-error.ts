/**
 * An expected failure with a stable code, raised anywhere and turned into an
 * HTTP answer by the API's one error middleware. `kind` picks the status.
 */
export type AppErrorKind = 'invalid' | 'unauthenticated' | 'forbidden' | 'not_found' | 'conflict' | 'too_large' | 'rate_limited' | 'unavailable';

export class AppError extends Error {
  constructor(
    readonly kind: AppErrorKind,
    readonly code: string,
    message: string,
    readonly extra: { field?: string; details?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const invalid = (code: string, message: string, field?: string) =>
  new AppError('invalid', code, message, field === undefined ? {} : { field });
export const notFound = (code: string, message: string) => new AppError('not_found', code, message);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError('conflict', code, message, details === undefined ? {} : { details });
