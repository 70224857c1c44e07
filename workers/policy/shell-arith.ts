import type { VarValue } from './shell-expand.ts';

/**
 * Bash evaluates arithmetic (`$((x))`, `((x))`, `let`, `[[ x -eq 1 ]]`,
 * `${s:x}`, `${a[x]}`, `${!x}`) by expanding the VALUES of the variables it
 * names once more: `x='a[$(touch f)]'; echo $((x))` runs `touch f`. The
 * same holds for command output evaluated as arithmetic. So arithmetic is
 * judged harmless only when every variable it names holds a value this line
 * gave it and that value cannot hold a command, or was inherited (the job's
 * environment is the worker's allow-list, not the agent's text).
 */
export function arithmeticRisk(expr: string, vars: ReadonlyMap<string, VarValue>): string | undefined {
  if (expr.includes('`') || expr.includes('$(')) return 'evaluates command output as arithmetic, which bash expands again';
  for (const m of expr.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) {
    const v = vars.get(m[0]);
    if (!v) continue;
    if ('unknown' in v) return `evaluates $${m[0]} (from ${v.unknown}) as arithmetic, which runs any command substitution its value holds`;
    if (/[[$`]/.test(v.text)) return `evaluates $${m[0]} as arithmetic, and its value holds an expansion bash would run`;
  }
  return undefined;
}

/** Arithmetic comparison operators of `[[ … ]]` (their operands are arithmetic expressions). */
export const ARITH_TESTS = new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge']);

/**
 * The parts of a `${…}` expansion that bash evaluates as arithmetic or as a
 * name (offsets, subscripts, indirection), or a reason it cannot be judged
 * at all (`${x@P}` prompt-expands the value; zsh's `${(e)x}` evaluates it).
 */
export function paramExpansionRisk(content: string): { arith: string[]; opaque?: string } {
  if (/@P$/.test(content)) return { arith: [], opaque: 'prompt-expands a value (${…@P}), which runs the command substitutions it holds' };
  if (content.startsWith('(')) return { arith: [], opaque: "uses zsh expansion flags (${(…)…}), which can evaluate a value as code" };
  const arith: string[] = [];
  const indirect = /^!([A-Za-z_][A-Za-z0-9_]*)/.exec(content);
  if (indirect?.[1]) arith.push(indirect[1]);
  const sub = /^#?!?[A-Za-z_][A-Za-z0-9_]*\[(.*)\]/.exec(content);
  if (sub?.[1] !== undefined) arith.push(sub[1]);
  const offset = /^[A-Za-z_][A-Za-z0-9_]*:(?![-=?+])(.*)$/s.exec(content);
  if (offset?.[1] !== undefined) arith.push(offset[1]);
  return { arith };
}
