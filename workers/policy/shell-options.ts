import type { Arg } from './shell-commands.ts';

/**
 * Option parsing the way getopt / git's parse-options read a command line,
 * against a spec of the options KNOWN to keep a command read-only. Whatever
 * the spec does not name is reported as unknown, and the caller fails closed
 * (the command is then not read-only): a new, abbreviated or misspelt option
 * is never assumed harmless. Which word is an option's value and which is an
 * operand is exactly what decides whether a word is a path, so the walk
 * follows the tools' rules: short clusters (`-rn`), attached values (`-n5`,
 * `--max-count=5`), optional values only attached (`--color=always`), `--`.
 */

type Takes = 'none' | 'required' | 'optional' | 'two';
/** What an option's value is: free text, or a file the command reads (its path is checked). */
export type ValueKind = 'text' | 'path';
interface OptDef {
  takes: Takes;
  kind: ValueKind;
}

export interface OptionSpec {
  shorts: ReadonlyMap<string, OptDef>;
  longs: ReadonlyMap<string, OptDef>;
  /** `-20` is a count (head -20, git log -3). */
  numeric: boolean;
  /** git's parse-options: every known flag also exists as `--no-flag`. */
  negatable: boolean;
  /** Long options written with one dash (`xxd -cols 8`). */
  singleDash: boolean;
}

/**
 * Builds a spec from a compact notation, one token per option:
 * `-a` flag, `-n=` takes a value, `-f=path` takes a file to read, `-M?` takes an
 * optional attached value; the same with `--long`; `--arg=2` takes two words (`=2path`: the
 * second is a file). `#` as a token: `-<digits>` is a count.
 */
export function optionSpec(notation: string, o: { negatable?: boolean; singleDash?: boolean } = {}): OptionSpec {
  const shorts = new Map<string, OptDef>();
  const longs = new Map<string, OptDef>();
  let numeric = false;
  for (const token of notation.split(/\s+/)) {
    if (token === '') continue;
    if (token === '#') {
      numeric = true;
      continue;
    }
    const m = /^(--?)([^=?]+)(=2path|=2|=path|=|\?)?$/.exec(token);
    if (!m) throw new Error(`bad option notation ${token}`);
    const [, dashes, name = '', tail] = m;
    const takes: Takes = tail === '?' ? 'optional' : tail?.startsWith('=2') ? 'two' : tail ? 'required' : 'none';
    const def: OptDef = { takes, kind: tail?.endsWith('path') ? 'path' : 'text' };
    if (dashes === '-' && o.singleDash && name.length > 1) longs.set(name, def);
    else if (dashes === '-') {
      if (name.length !== 1) throw new Error(`short option ${token} must be one character`);
      shorts.set(name, def);
    } else longs.set(name, def);
  }
  return { shorts, longs, numeric, negatable: o.negatable ?? false, singleDash: o.singleDash ?? false };
}

/** Merges specs (a command's own options plus a shared family such as git's diff options). */
export function mergeSpecs(...specs: OptionSpec[]): OptionSpec {
  return {
    shorts: new Map(specs.flatMap((s) => [...s.shorts])),
    longs: new Map(specs.flatMap((s) => [...s.longs])),
    numeric: specs.some((s) => s.numeric),
    negatable: specs.some((s) => s.negatable),
    singleDash: specs.some((s) => s.singleDash),
  };
}

export interface OptionWalk {
  /** Options (as written) the spec does not know. */
  unknown: string[];
  /** Values that name files the command reads. */
  reads: Arg[];
  /** Operands, in order (everything after `--` included). */
  operands: Arg[];
  /** The operands after `--`: they cannot be read as options. */
  operandsAfterDashDash: Arg[];
  /** Every option value, by option (`-e`, `--expression`), in order. */
  values: { opt: string; value: Arg }[];
}

export function walkOptions(spec: OptionSpec, args: readonly Arg[]): OptionWalk {
  const out: OptionWalk = { unknown: [], reads: [], operands: [], operandsAfterDashDash: [], values: [] };
  const value = (opt: string, def: OptDef, v: Arg | undefined): void => {
    if (!v) return;
    out.values.push({ opt, value: v });
    if (def.kind === 'path') out.reads.push(v);
  };
  /** A separate value (or two): returns how many words it used. */
  const separate = (opt: string, def: OptDef, i: number): number => {
    if (def.takes === 'two') {
      value(opt, def, args[i + 2]);
      return 2;
    }
    value(opt, def, args[i + 1]);
    return 1;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a) continue;
    const t = a.text;
    // A word only known at run time may turn out to be an option: it is an operand here, and
    // operands that cannot be checked fail the path check.
    if (a.unknown || t === '-' || !t.startsWith('-')) {
      out.operands.push(a);
      continue;
    }
    if (t === '--') {
      const rest = args.slice(i + 1);
      out.operands.push(...rest);
      out.operandsAfterDashDash.push(...rest);
      break;
    }
    const single = spec.singleDash && !t.startsWith('--') && t.length > 2 && spec.longs.has(t.slice(1).replace(/=.*/, ''));
    if (t.startsWith('--') || single) {
      const eq = t.indexOf('=');
      const name = t.slice(single ? 1 : 2, eq < 0 ? undefined : eq);
      let def = spec.longs.get(name);
      if (!def && spec.negatable && name.startsWith('no-')) {
        const positive = spec.longs.get(name.slice(3));
        if (positive?.takes !== 'required') def = positive && { takes: 'none', kind: 'text' };
      }
      if (!def || (def.takes === 'none' && eq >= 0)) {
        out.unknown.push(t);
        continue;
      }
      const opt = `--${name}`;
      if (eq >= 0 && def.takes !== 'two') value(opt, def, { text: t.slice(eq + 1), glob: a.glob });
      else if (def.takes === 'required' || def.takes === 'two') i += separate(opt, def, i);
      continue;
    }
    if (spec.numeric && /^-\d+$/.test(t)) continue;
    for (let k = 1; k < t.length; k++) {
      const def = spec.shorts.get(t.charAt(k));
      if (!def) {
        out.unknown.push(k === 1 ? t : `-${t.charAt(k)} (in ${t})`);
        break;
      }
      if (def.takes === 'none') continue;
      const attached = t.slice(k + 1);
      const opt = `-${t.charAt(k)}`;
      if (attached !== '') value(opt, def, { text: attached, glob: a.glob });
      else if (def.takes === 'required' || def.takes === 'two') i += separate(opt, def, i);
      break;
    }
  }
  return out;
}

export interface LeadingOptions {
  /** The first option the spec does not know: where the command starts is then unknown. */
  unknown?: string;
  values: { opt: string; value: Arg }[];
  /** `NAME=value` words among the options (env, sudo). */
  assigns: Arg[];
  /** Index of the first operand (the command a wrapper runs). */
  end: number;
}

/**
 * Options before the first operand, as wrappers read them (`timeout -s KILL 5 cmd -x`:
 * `-x` belongs to cmd). `assigns`: `NAME=value` words there are environment settings.
 */
export function walkLeadingOptions(spec: OptionSpec, args: readonly Arg[], o: { assigns?: boolean } = {}): LeadingOptions {
  const out: LeadingOptions = { values: [], assigns: [], end: args.length };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a) continue;
    const t = a.text;
    if (a.unknown || t === '-' || !t.startsWith('-')) {
      if (o.assigns && !a.unknown && /^[A-Za-z_][A-Za-z0-9_]*=/.test(t)) {
        out.assigns.push(a);
        continue;
      }
      out.end = i;
      return out;
    }
    if (t === '--') {
      out.end = i + 1;
      return out;
    }
    if (spec.numeric && /^-\d+$/.test(t)) continue;
    if (t.startsWith('--')) {
      const eq = t.indexOf('=');
      const name = t.slice(2, eq < 0 ? undefined : eq);
      const def = spec.longs.get(name);
      if (!def || (def.takes === 'none' && eq >= 0)) return { ...out, unknown: t, end: i };
      if (eq >= 0) out.values.push({ opt: `--${name}`, value: { text: t.slice(eq + 1), glob: a.glob } });
      else if (def.takes === 'none' || def.takes === 'optional') out.values.push({ opt: `--${name}`, value: { text: '', glob: false } });
      else {
        const v = args[++i];
        if (v) out.values.push({ opt: `--${name}`, value: v });
      }
      continue;
    }
    for (let k = 1; k < t.length; k++) {
      const def = spec.shorts.get(t.charAt(k));
      if (!def) return { ...out, unknown: k === 1 ? t : `-${t.charAt(k)} (in ${t})`, end: i };
      if (def.takes === 'none') {
        out.values.push({ opt: `-${t.charAt(k)}`, value: { text: '', glob: false } });
        continue;
      }
      const attached = t.slice(k + 1);
      const v = attached !== '' ? { text: attached, glob: a.glob } : def.takes === 'required' ? args[++i] : undefined;
      if (v) out.values.push({ opt: `-${t.charAt(k)}`, value: v });
      break;
    }
  }
  return out;
}
