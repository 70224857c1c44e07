import { arithmeticRisk, paramExpansionRisk } from './shell-arith.ts';
import type { Arg } from './shell-commands.ts';
import { plainText, type Part, type Script, type Word } from './shell-words.ts';

/**
 * Static expansion of words: what the shell would pass as arguments, as far as
 * it can be known before the command runs. Values that only exist at run time
 * (unknown variables, command output) are kept with an `unknown` reason so the
 * policy never treats them as harmless paths.
 */

/** A working directory: known (canonical, or `~…` for a home directory) or only known at run time. */
export type Cwd = { dir: string } | { unknown: string };
export type VarValue = { text: string } | { unknown: string };

/** What the walk knows at a point of the script. */
export interface ShellState {
  /** Every directory the next command may run in. */
  cwds: Cwd[];
  /** Directories the shell is still in if a `cd` before an `&&` chain failed. */
  pending: Cwd[];
  vars: Map<string, VarValue>;
  /** Aliases defined earlier in the same command line (`alias g=git; g push`). */
  aliases: Map<string, string>;
}

export function initialState(root: string): ShellState {
  return { cwds: [{ dir: root }], pending: [], vars: new Map(), aliases: new Map() };
}

export function cloneState(st: ShellState): ShellState {
  return { cwds: [...st.cwds], pending: [...st.pending], vars: new Map(st.vars), aliases: new Map(st.aliases) };
}

export function unionCwds(a: readonly Cwd[], b: readonly Cwd[]): Cwd[] {
  const out: Cwd[] = [...a];
  const key = (c: Cwd): string => ('dir' in c ? `d:${c.dir}` : `u:${c.unknown}`);
  const seen = new Set(out.map(key));
  for (const c of b) if (!seen.has(key(c))) (seen.add(key(c)), out.push(c));
  return out;
}

export interface ExpandContext {
  /** The worktree root as compared against (see Containment.root). */
  root: string;
  isInside(abs: string): boolean;
  /** Walks a command substitution (it runs: its commands are judged too); true when it lists worktree paths. */
  walkSub(script: Script, st: ShellState, how: string): boolean;
  /** Records an expansion whose effect the policy cannot judge. */
  opaque(subject: string, why: string): void;
}

const MAX_BRACE_RESULTS = 64;

/** Pattern characters: `*`, `?`, or a bracket expression (`[` alone, as in `[ -f x ]`, is not one). */
export function hasGlob(t: string): boolean {
  return /[*?]/.test(t) || /\[[^\]]*\]/.test(t);
}

/** A word as the arguments it becomes (brace expansion, field splitting of known unquoted variables). */
export function expandWord(w: Word, st: ShellState, ctx: ExpandContext): Arg[] {
  const listings = walkSubs(w.parts, st, ctx);
  const only = w.parts[0];
  if (w.parts.length === 1 && only && only.kind === 'var' && !only.quoted) {
    // With a custom IFS (`IFS=,; c=git,push; $c`) word splitting is not the usual one: say so.
    if (st.vars.has('IFS')) return [{ text: `$${only.name}`, unknown: `$${only.name} split by a custom IFS`, glob: false }];
    const v = lookup(only.name, st);
    if ('unknown' in v) return [{ text: `$${only.name}`, unknown: v.unknown, glob: false }];
    return v.text
      .split(/\s+/)
      .filter((t) => t !== '')
      .map((text) => ({ text, glob: hasGlob(text) }));
  }
  const arg = value(w.parts, st, ctx, listings);
  // Any unquoted `{` may start an expansion whose commas sit in other parts (`{"git",push}`): expand
  // the whole text, which can only show more words than bash would, never fewer.
  const braces = w.parts.some((p) => p.kind === 'lit' && !p.quoted && p.text.includes('{'));
  if (!braces || arg.unknown) return [arg];
  const all = braceExpandAll(arg.text);
  if (!all) return [{ ...arg, unknown: `more than ${MAX_BRACE_RESULTS} brace alternatives` }];
  return all.map((text) => ({ ...arg, text }));
}

/** A word as one value (redirection targets, assignments): no splitting. */
export function expandJoined(w: Word, st: ShellState, ctx: ExpandContext): Arg {
  return value(w.parts, st, ctx, walkSubs(w.parts, st, ctx));
}

/** Runs the word's substitutions through the walker; returns those whose output lists worktree paths. */
function walkSubs(parts: readonly Part[], st: ShellState, ctx: ExpandContext): Set<Script> {
  const listings = new Set<Script>();
  for (const p of parts) {
    if (p.kind === 'sub') {
      if (ctx.walkSub(p.script, st, p.how)) listings.add(p.script);
    } else if (p.kind === 'dynamic') {
      for (const s of p.scripts) ctx.walkSub(s, st, '$(');
      dynamicRisk(p.text, st, ctx);
    }
  }
  return listings;
}

/** Arithmetic and parameter expansions that would run what a variable holds. */
function dynamicRisk(text: string, st: ShellState, ctx: ExpandContext): void {
  const flag = (why: string | undefined): void => {
    if (why) ctx.opaque(text, why);
  };
  if (text.startsWith('$((')) flag(arithmeticRisk(text.slice(3, -2), st.vars));
  else if (text.startsWith('${')) {
    const r = paramExpansionRisk(text.slice(2, -1));
    flag(r.opaque);
    for (const e of r.arith) flag(arithmeticRisk(e, st.vars));
  }
}

function value(parts: readonly Part[], st: ShellState, ctx: ExpandContext, listings: ReadonlySet<Script>): Arg {
  let text = '';
  let unknown: string | undefined;
  let glob = false;
  for (const p of parts) {
    switch (p.kind) {
      case 'lit':
        text += p.text;
        if (!p.quoted && hasGlob(p.text)) glob = true;
        break;
      case 'tilde':
        text += `~${p.user}`;
        break;
      case 'var': {
        const v = lookup(p.name, st);
        if ('text' in v) text += v.text;
        else {
          text += `$${p.name}`;
          unknown ??= v.unknown;
        }
        break;
      }
      case 'sub': {
        const known = knownOutput(p.script, st, ctx);
        if (known !== undefined) text += known;
        // `$(git ls-files)`, `$(find . -name x)`: paths inside the worktree (those commands' own paths were checked).
        else if (listings.has(p.script)) text += 'listed';
        else {
          text += p.how === '`' ? '`…`' : `${p.how}…)`;
          unknown ??= `the output of ${p.how === '`' ? '`…`' : `${p.how}…)`}`;
        }
        break;
      }
      case 'dynamic':
        if (p.numeric) text += '0';
        else {
          text += p.text;
          unknown ??= p.text;
        }
        break;
    }
  }
  return unknown === undefined ? { text, glob } : { text, unknown, glob };
}

/** Variables the walk has seen assigned; HOME is a home directory; PWD the current directory. */
function lookup(name: string, st: ShellState): VarValue {
  const v = st.vars.get(name);
  if (v) return v;
  if (name === 'HOME') return { text: '~' };
  if (name === 'PWD') {
    const only = st.cwds.length === 1 ? st.cwds[0] : undefined;
    if (only && 'dir' in only) return { text: only.dir };
  }
  return { unknown: `$${name}` };
}

/**
 * Two substitutions agents use to name the worktree: `$(pwd)` and
 * `$(git rev-parse --show-toplevel)`. Their output is known; any other is not.
 */
function knownOutput(script: Script, st: ShellState, ctx: ExpandContext): string | undefined {
  const item = script.items.length === 1 ? script.items[0] : undefined;
  if (!item || item.command.type !== 'simple' || item.command.redirects.length > 0) return undefined;
  const words = item.command.words.map(plainText).join(' ');
  const only = st.cwds.length === 1 ? st.cwds[0] : undefined;
  if (!only || !('dir' in only)) return undefined;
  if (words === 'pwd') return only.dir;
  if (words === 'git rev-parse --show-toplevel' && ctx.isInside(only.dir)) return ctx.root;
  return undefined;
}

/** `pre{a,b}post` → `preapost prebpost`, `{1..3}`, `{a..c}`, nested; the first results when there are too many. */
export function braceExpand(t: string): string[] {
  return expandBraces(t).results;
}

/** Every brace expansion of `t`, or undefined when there are more than can be checked. */
export function braceExpandAll(t: string): string[] | undefined {
  const r = expandBraces(t);
  return r.truncated ? undefined : r.results;
}

function expandBraces(t: string): { results: string[]; truncated: boolean } {
  for (let i = 0; i < t.length; i++) {
    if (t.charAt(i) !== '{') continue;
    let depth = 0;
    let end = -1;
    const commas: number[] = [];
    for (let j = i; j < t.length; j++) {
      const c = t.charAt(j);
      if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        end = j;
        break;
      } else if (c === ',' && depth === 1) commas.push(j);
    }
    if (end < 0) return { results: [t], truncated: false };
    let alts: string[] | undefined;
    if (commas.length > 0) {
      const bounds = [i, ...commas, end];
      alts = bounds.slice(0, -1).map((b, k) => t.slice(b + 1, bounds[k + 1]));
    } else alts = sequence(t.slice(i + 1, end));
    if (alts === undefined) continue;
    if (alts.length > MAX_BRACE_RESULTS) return { results: alts.slice(0, MAX_BRACE_RESULTS), truncated: true };
    const out: string[] = [];
    for (const a of alts) {
      const inner = expandBraces(t.slice(0, i) + a + t.slice(end + 1));
      for (const r of inner.results) {
        out.push(r);
        if (out.length >= MAX_BRACE_RESULTS) return { results: out, truncated: true };
      }
      if (inner.truncated) return { results: out, truncated: true };
    }
    return { results: out, truncated: false };
  }
  return { results: [t], truncated: false };
}

/** `1..5`, `01..10..3`, `a..e`: bash's sequence expressions (up to one more than the limit). */
function sequence(body: string): string[] | undefined {
  const num = /^(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?$/.exec(body);
  const chr = /^([A-Za-z])\.\.([A-Za-z])(?:\.\.(-?\d+))?$/.exec(body);
  const m = num ?? chr;
  if (!m) return undefined;
  const from = num ? Number(m[1]) : (m[1] ?? '').charCodeAt(0);
  const to = num ? Number(m[2]) : (m[2] ?? '').charCodeAt(0);
  const step = Math.abs(Number(m[3] ?? 1)) || 1;
  const width = num && /^-?0\d/.test(`${m[1]}`) ? (m[1] ?? '').length : 0;
  const out: string[] = [];
  for (let v = from; from <= to ? v <= to : v >= to; v += from <= to ? step : -step) {
    out.push(num ? String(v).padStart(width, '0') : String.fromCharCode(v));
    if (out.length > MAX_BRACE_RESULTS) break;
  }
  return out;
}
