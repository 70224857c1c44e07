import { LINE_FILTERS, NETWORK, NON_PATH_ARGS, PATTERN_FIRST, TWO_VALUE_OPTS, VALUE_OPTS, hasFlag, isListing, type Arg } from './shell-commands.ts';
import type { Cwd } from './shell-expand.ts';
import { isDotGit } from './shell-paths.ts';
import { checkReadOnly } from './shell-readonly.ts';
import type { Fact, Runner, Stdin } from './shell-runners.ts';

/**
 * A command with no runner of its own: read-only when the read-only table
 * (shell-readonly.ts) says so for these options, its files then checked as
 * reads; otherwise every word that may be a file is checked as one it
 * writes. An awk program or sed script that runs commands or touches files
 * is reported as not judged.
 */
export interface GenericHost extends Pick<Runner, 'path' | 'cwd' | 'opaque'> {
  /** Whether a directory may hold a name starting with `-` (a glob there may become an option). */
  mayHoldDashNames(dir: string): boolean;
}

export function runGeneric(w: GenericHost, name: string, args: Arg[], fact: Fact, stdin: Stdin, cwds: Cwd[]): boolean {
  const ro = checkReadOnly(name, args);
  if (ro.script && ro.script.cls !== 'filters') w.opaque(fact.text, `the ${name} program uses ${ro.script.what ?? 'what the policy cannot read'}, which the policy cannot judge`);
  if (ro.readOnly) {
    if (NON_PATH_ARGS.has(name)) return false;
    w.cwd(cwds);
    for (const r of ro.reads) w.path(r, 'read', cwds);
    let dash = false;
    for (const f of ro.files) {
      w.path(f, 'read', cwds);
      // `sort *` with a file named `--compress-program=sh` in the directory: the glob becomes an option.
      if (f.glob && mayStartWithDash(f.text) && !ro.safeFiles.has(f) && cwds.some((d) => !('dir' in d) || w.mayHoldDashNames(d.dir))) dash = true;
    }
    if (dash) {
      fact.readOnly = false;
      fact.why ??= `a pattern may expand to a file name starting with -, which ${name} would read as an option`;
      return false;
    }
    const passesThrough = LINE_FILTERS.has(name) && ro.files.length === 0 && stdin.kind === 'pipe' && stdin.listing;
    return isListing(name, args) || passesThrough;
  }
  fact.readOnly = false;
  fact.why ??= ro.why ?? (NETWORK.has(name) ? 'it may contact other machines' : undefined);
  if (NON_PATH_ARGS.has(name)) return false;
  w.cwd(cwds);
  // Not read-only: every word that may be a file is checked as one it writes.
  const pattern = PATTERN_FIRST.get(name);
  let skipPattern = pattern !== undefined && !hasFlag(args, pattern.longs, pattern.shorts);
  const valueOpts = VALUE_OPTS.get(name);
  let ended = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a) continue;
    const t = a.text;
    if (!ended && !a.unknown && t === '--') {
      ended = true;
      continue;
    }
    if (!ended && !a.unknown && t.length > 1 && t.startsWith('-')) {
      const eq = t.indexOf('=');
      if (t.startsWith('--') && eq > 0) optionValue(w, t.slice(eq + 1), a, cwds);
      else if (valueOpts?.has(t)) {
        // A text value, except that `@file` inside it names a file to read (curl -d @f, -F k=@f).
        const n = TWO_VALUE_OPTS.has(t) ? 2 : 1;
        for (const v of args.slice(i + 1, i + 1 + n)) if (!v.unknown && v.text.includes('@')) optionValue(w, v.text.slice(v.text.indexOf('@') + 1), v, cwds);
        i += n;
      }
      continue;
    }
    if (skipPattern) {
      skipPattern = false;
      continue;
    }
    const asg = /^[A-Za-z_][A-Za-z0-9_]*=(.*)$/s.exec(t);
    if (asg && !a.unknown) {
      optionValue(w, asg[1] ?? '', a, cwds); // make PREFIX=/usr, dd of=/dev/sda
      continue;
    }
    w.path(a, 'write', cwds);
  }
  return false;
}

/** The value of an option or NAME=value argument: checked when it could name a path. */
function optionValue(w: GenericHost, v: string, a: Arg, cwds: Cwd[]): void {
  if (v.startsWith('@')) v = v.slice(1);
  if (v.includes('/') || v.startsWith('~') || v === '..' || v.split('/').some(isDotGit)) w.path({ text: v, glob: a.glob }, 'write', cwds);
}

/** Whether a pattern's expansion may begin with `-`: `*x`, `?x`, `[-a]x`, `[!a]x` may; `a*`, `[ab]x` may not. */
function mayStartWithDash(t: string): boolean {
  if (t.startsWith('*') || t.startsWith('?')) return true;
  const bracket = /^\[([^\]]*)\]/.exec(t);
  return bracket !== null && /[-!^]/.test(bracket[1] ?? '');
}
