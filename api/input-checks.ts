/**
 * Checks on a parsed JSON body beyond its decoder: no field the decoder does
 * not know (a typo or a smuggled field is refused, not silently dropped), and
 * no NUL character in any string (nothing downstream, from git to C strings
 * in the agent CLIs, handles one sanely).
 */
import { isRecord } from '../machines/decode.ts';

const join = (base: string, key: string): string => (base ? `${base}.${key}` : key);

export const MAX_DEPTH = 32;

/** True when arrays/objects nest deeper than `max` (checked without recursion, before anything recursive walks the value). */
export function tooDeep(value: unknown, max = MAX_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** The first field present in `raw` that the decoded value does not carry, or undefined. */
export function unknownField(raw: unknown, decoded: unknown, path = ''): string | undefined {
  if (raw === decoded) return undefined; // kept whole (opaque JSON)
  if (Array.isArray(raw) && Array.isArray(decoded)) {
    for (let i = 0; i < raw.length; i++) {
      const f = unknownField(raw[i], decoded[i], `${path}[${i}]`);
      if (f) return f;
    }
    return undefined;
  }
  if (!isRecord(raw) || !isRecord(decoded)) return undefined;
  for (const [key, value] of Object.entries(raw)) {
    if (value === null || value === undefined) continue;
    if (!Object.hasOwn(decoded, key)) return join(path, key);
    const f = unknownField(value, decoded[key], join(path, key));
    if (f) return f;
  }
  return undefined;
}

/** The path of the first key or string holding a NUL character, or undefined. */
export function nulField(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path || '(body)' : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const f = nulField(value[i], `${path}[${i}]`);
      if (f) return f;
    }
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  for (const [key, v] of Object.entries(value)) {
    if (key.includes('\u0000')) return join(path, key.replace(/\u0000/g, '\\0'));
    const f = nulField(v, join(path, key));
    if (f) return f;
  }
  return undefined;
}
