/**
 * The opaque cursor of `GET /api/jobs`: the (createdAt, id) of the last job
 * of a page, as base64url JSON. Keyset paging rather than OFFSET, so a job
 * created while someone pages never shifts a page (no duplicate, no skip).
 * Clients get it back verbatim; anything else is rejected as INVALID_CURSOR.
 */
import { invalid } from '../../machines/app-error.ts';

export interface JobCursor {
  createdAt: string;
  id: string;
}

export const INVALID_CURSOR = 'INVALID_CURSOR';

export function encodeCursor(c: JobCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id]), 'utf8').toString('base64url');
}

/** Throws an AppError (kind 'invalid', code INVALID_CURSOR → HTTP 400) for anything we did not issue. */
export function decodeCursor(cursor: string): JobCursor {
  // Node's base64url decoder skips characters it does not know, so check the alphabet first.
  if (!/^[A-Za-z0-9_-]{1,1024}$/.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw bad();
  const [createdAt, id] = parsed as unknown[];
  if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) throw bad();
  if (typeof id !== 'string' || id === '') throw bad();
  return { createdAt, id };
}

const bad = () => invalid(INVALID_CURSOR, 'cursor is not one this server issued; start again without a cursor', 'cursor');
