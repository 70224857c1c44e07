/**
 * A tiny decoder toolkit: every boundary (IPC, HTTP, files) receives `unknown`
 * and turns it into a typed value exactly once, or fails naming the field.
 * Hand-written because machines/ may import nothing but xstate.
 */
export class DecodeError extends Error {
  constructor(
    readonly field: string,
    readonly expected: string,
  ) {
    super(field ? `${field}: expected ${expected}` : `expected ${expected}`);
    this.name = 'DecodeError';
  }
}

export type Decoder<T> = (value: unknown, field: string) => T;

const join = (base: string, key: string): string => (base ? `${base}.${key}` : key);

export const str =
  (opts: { min?: number; max?: number } = {}): Decoder<string> =>
  (v, f) => {
    if (typeof v !== 'string') throw new DecodeError(f, 'a string');
    if (opts.min !== undefined && v.length < opts.min)
      throw new DecodeError(f, opts.min === 1 ? 'a non-empty string' : `at least ${opts.min} characters`);
    if (opts.max !== undefined && v.length > opts.max) throw new DecodeError(f, `at most ${opts.max} characters`);
    return v;
  };

export const int =
  (opts: { min?: number; max?: number } = {}): Decoder<number> =>
  (v, f) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new DecodeError(f, 'an integer');
    if (opts.min !== undefined && v < opts.min) throw new DecodeError(f, `an integer >= ${opts.min}`);
    if (opts.max !== undefined && v > opts.max) throw new DecodeError(f, `an integer <= ${opts.max}`);
    return v;
  };

export const num: Decoder<number> = (v, f) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DecodeError(f, 'a number');
  return v;
};

export const bool: Decoder<boolean> = (v, f) => {
  if (typeof v !== 'boolean') throw new DecodeError(f, 'a boolean');
  return v;
};

export const literal =
  <const T extends readonly (string | number | boolean)[]>(...values: T): Decoder<T[number]> =>
  (v, f) => {
    if (!values.includes(v as T[number])) throw new DecodeError(f, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
    return v as T[number];
  };

export const optional =
  <T>(d: Decoder<T>): Decoder<T | undefined> =>
  (v, f) =>
    v === undefined || v === null ? undefined : d(v, f);

export const array =
  <T>(d: Decoder<T>, opts: { max?: number } = {}): Decoder<T[]> =>
  (v, f) => {
    if (!Array.isArray(v)) throw new DecodeError(f, 'an array');
    if (opts.max !== undefined && v.length > opts.max) throw new DecodeError(f, `at most ${opts.max} items`);
    return v.map((x, i) => d(x, `${f}[${i}]`));
  };

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const record: Decoder<Record<string, unknown>> = (v, f) => {
  if (!isRecord(v)) throw new DecodeError(f, 'an object');
  return v;
};

/** Any JSON value, kept opaque (tool inputs, snapshots). */
export const json: Decoder<unknown> = (v) => v;

type Shape = Record<string, Decoder<unknown>>;
type Decoded<S extends Shape> = {
  [K in keyof S as undefined extends ReturnType<S[K]> ? never : K]: ReturnType<S[K]>;
} & {
  [K in keyof S as undefined extends ReturnType<S[K]> ? K : never]?: Exclude<ReturnType<S[K]>, undefined>;
};

/** Decodes an object with the given fields; unknown fields are dropped. */
export const object =
  <S extends Shape>(shape: S): Decoder<Decoded<S>> =>
  (v, f) => {
    const r = record(v, f);
    const out: Record<string, unknown> = {};
    for (const [key, d] of Object.entries(shape)) {
      const value = d(r[key], join(f, key));
      if (value !== undefined) out[key] = value;
    }
    return out as Decoded<S>;
  };

/** Decodes with `d`, returning a result instead of throwing. */
export function decode<T>(d: Decoder<T>, v: unknown, field = ''): { ok: true; value: T } | { ok: false; error: DecodeError } {
  try {
    return { ok: true, value: d(v, field) };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: e };
    throw e;
  }
}

export function assertNever(x: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(x)}`);
}
