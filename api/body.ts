import type { Context } from 'koa';
import { AppError, invalid } from '../machines/app-error.ts';
import { decode, type Decoder } from '../machines/decode.ts';

export const MAX_BODY_BYTES = 1024 * 1024;

/** Reads a JSON body (size-limited, content-type checked) and decodes it, or throws a 4xx naming the field. */
export async function readJson<T>(ctx: Context, decoder: Decoder<T>, limit = MAX_BODY_BYTES): Promise<T> {
  const type = ctx.get('content-type');
  if (type && !/^application\/(.+\+)?json\b/i.test(type)) throw new AppError('invalid', 'UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json');
  const declared = Number(ctx.get('content-length') || '0');
  if (declared > limit) throw new AppError('too_large', 'BODY_TOO_LARGE', `the body exceeds ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new AppError('too_large', 'BODY_TOO_LARGE', `the body exceeds ${limit} bytes`);
    chunks.push(b);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw invalid('INVALID_JSON', 'the body is not valid JSON');
  }
  const r = decode(decoder, value);
  if (!r.ok) throw invalid('INVALID_INPUT', r.error.message, r.error.field);
  return r.value;
}
