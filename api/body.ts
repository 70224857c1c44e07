import type { Context } from 'koa';
import { AppError, invalid } from '../machines/app-error.ts';
import { decode, type Decoder } from '../machines/decode.ts';
import { MAX_DEPTH, nulField, tooDeep, unknownField } from './input-checks.ts';

export const MAX_BODY_BYTES = 1024 * 1024;
/** How much of a refused body is read and dropped (so the client sees the 413) before the connection is cut instead. */
const DISCARD_LIMIT = 32 * 1024 * 1024;

/**
 * After an error answer to a request whose body was not read: drop the rest of
 * it (up to DISCARD_LIMIT, then cut the connection) so the client, still
 * sending, receives the answer instead of a reset.
 */
export function discardBody(ctx: Context): void {
  const req = ctx.req;
  if (req.readableEnded || req.destroyed) return;
  let size = 0;
  req.on('data', (b: Buffer) => {
    size += b.length;
    if (size > DISCARD_LIMIT) req.socket.destroy();
  });
  req.resume();
}

/**
 * The body as text, at most `limit` bytes. A larger body is refused with 413
 * at once; the rest of it is read and dropped (up to DISCARD_LIMIT) so the
 * client, still sending, receives the answer instead of a reset connection.
 */
function readBody(ctx: Context, limit: number): Promise<string> {
  const req = ctx.req;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const tooLarge = () => {
      refused = true;
      chunks.length = 0;
      reject(new AppError('too_large', 'BODY_TOO_LARGE', `the body exceeds ${limit} bytes`));
    };
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (refused) {
        if (size > DISCARD_LIMIT) req.socket.destroy();
      } else if (size > limit) tooLarge();
      else chunks.push(b);
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
    req.once('close', () => reject(new AppError('invalid', 'BODY_INCOMPLETE', 'the body ended early')));
    if (Number(ctx.get('content-length') || '0') > limit) tooLarge();
  });
}

/** Reads a JSON body (size-limited, content-type checked) and decodes it, or throws a 4xx naming the field (also for an unknown field or a NUL character). */
export async function readJson<T>(ctx: Context, decoder: Decoder<T>, limit = MAX_BODY_BYTES): Promise<T> {
  const type = ctx.get('content-type');
  if (type && !/^application\/(.+\+)?json\b/i.test(type)) throw new AppError('invalid', 'UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json');
  const text = await readBody(ctx, limit);
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw invalid('INVALID_JSON', 'the body is not valid JSON');
  }
  if (tooDeep(value)) throw invalid('INVALID_INPUT', `the body nests deeper than ${MAX_DEPTH} levels`);
  const nul = nulField(value);
  if (nul !== undefined) throw invalid('INVALID_INPUT', `${nul}: NUL characters are not allowed`, nul);
  const r = decode(decoder, value);
  if (!r.ok) throw invalid('INVALID_INPUT', r.error.message, r.error.field);
  const unknown = unknownField(value, r.value);
  if (unknown !== undefined) throw invalid('UNKNOWN_FIELD', `${unknown}: no such field`, unknown);
  return r.value;
}
