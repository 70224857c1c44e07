import { FIND_RUNS, FIND_WRITES, SHELL_VALUE_OPTS, isListing, isReadOnly, type Arg, type WrapperSpec } from './shell-commands.ts';
import { cloneState, type Cwd, type ShellState } from './shell-expand.ts';

/**
 * How the commands that run other commands are read: find -exec, xargs,
 * watch, shells (`sh -c`, a script on stdin) and wrappers (env, sudo,
 * timeout, nice…). Each finds the command or script it runs and hands it
 * back to the walker (shell-analysis.ts) through `Runner`.
 */

/** What the command's stdin is: it matters for `sh` (a script) and `xargs` (arguments). */
export type Stdin = { kind: 'tty' } | { kind: 'pipe'; listing: boolean } | { kind: 'text'; text: string } | { kind: 'file' };
export const TTY: Stdin = { kind: 'tty' };
/** One simple command as judged: its text for messages, and whether it only reads. */
export interface Fact {
  text: string;
  readOnly: boolean;
}
export type Role = 'read' | 'write' | 'cwd';

/** The walker, as the runners use it. */
export interface Runner {
  /** Judges a command given as words (after its wrapper); returns whether it lists worktree paths. */
  run(argv: Arg[], st: ShellState, fact: Fact, stdin: Stdin, cwds: Cwd[]): boolean;
  /** Checks a path the command touches. */
  path(a: Arg, role: Role, cwds: readonly Cwd[]): void;
  /** Checks the directories the command runs in. */
  cwd(cwds: readonly Cwd[]): void;
  chdir(cwds: readonly Cwd[], target: Arg): Cwd[];
  /** Judges text the shell will run as a script. */
  nested(text: Arg, st: ShellState, fact: Fact): void;
  gate(subject: string, why: string): void;
}

const FIND_VALUE_OPTS = new Set(['-name', '-iname', '-path', '-ipath', '-regex', '-iregex', '-type', '-xtype', '-maxdepth', '-mindepth', '-size', '-mtime', '-atime', '-ctime', '-mmin', '-amin', '-cmin', '-perm', '-user', '-group', '-uid', '-gid', '-newer', '-anewer', '-cnewer', '-samefile', '-printf', '-links', '-inum', '-fstype', '-wholename', '-iwholename', '-lname', '-ilname', '-used', '-context', '-regextype', '-files0-from']);
const XARGS_VALUE_OPTS = new Set(['-n', '-L', '-P', '-s', '-d', '-E', '--max-args', '--max-procs', '--max-lines', '--max-chars', '--delimiter', '--eof', '--process-slot-var']);

export function runFind(w: Runner, args: Arg[], st: ShellState, fact: Fact, cwds: Cwd[]): boolean {
  let i = 0;
  while (i < args.length && /^-([HLP]|D|O\d*)$/.test(args[i]?.text ?? '')) i += args[i]?.text === '-D' ? 2 : 1;
  const roots: Arg[] = [];
  for (; i < args.length; i++) {
    const a = args[i];
    if (!a || (!a.unknown && (a.text.startsWith('-') || a.text === '(' || a.text === '!' || a.text === ','))) break;
    roots.push(a);
  }
  w.cwd(cwds);
  for (const root of roots) w.path(root, 'read', cwds);
  for (; i < args.length; i++) {
    const t = args[i]?.text ?? '';
    if (FIND_RUNS.has(t)) {
      const inner: Arg[] = [];
      // `{}` is a path find found under its (already checked) roots.
      for (i++; i < args.length && args[i]?.text !== ';' && args[i]?.text !== '+'; i++) {
        const a = args[i];
        if (a) inner.push(a.unknown ? a : { ...a, text: a.text.replaceAll('{}', 'found') });
      }
      w.run(inner, cloneState(st), fact, TTY, cwds);
    } else if (FIND_WRITES.has(t)) {
      fact.readOnly = false;
      const file = t === '-delete' ? undefined : args[++i];
      if (file) w.path(file, 'write', cwds);
    } else if (FIND_VALUE_OPTS.has(t)) i++;
  }
  return fact.readOnly && isListing('find', args);
}

/**
 * xargs runs its command with words read from stdin. When the input is a
 * listing of the worktree (`find . | xargs rm`) those words are paths inside;
 * otherwise (`echo ../x | xargs rm`) nobody can tell where they point.
 */
export function runXargs(w: Runner, args: Arg[], st: ShellState, fact: Fact, stdin: Stdin, cwds: Cwd[]): boolean {
  let replace: string | undefined;
  let fromFile = false;
  let i = 0;
  for (; i < args.length; i++) {
    const t = args[i]?.text ?? '';
    if (t === '--') {
      i++;
      break;
    }
    if (!t.startsWith('-') || t === '-') break;
    if (t === '-I') replace = args[++i]?.text;
    else if (t === '-i' || t === '--replace') replace = '{}';
    else if (/^-[Ii]./.test(t)) replace = t.slice(2);
    else if (t.startsWith('--replace=')) replace = t.slice(10);
    else if (t === '-a' || t === '--arg-file' || t.startsWith('--arg-file=')) {
      const file = t.includes('=') ? { text: t.slice(t.indexOf('=') + 1), glob: false } : args[++i];
      if (file) w.path(file, 'read', cwds);
      fromFile = true;
    } else if (XARGS_VALUE_OPTS.has(t)) i++;
  }
  const listed = !fromFile && stdin.kind === 'pipe' && stdin.listing;
  const input: Arg = listed ? { text: 'input', glob: false } : { text: '(xargs input)', unknown: 'the words xargs reads from its input', glob: false };
  let inner = args.slice(i);
  if (inner.length === 0) inner = [{ text: 'echo', glob: false }];
  const token = replace;
  if (token) inner = inner.map((a) => (a.text.includes(token) ? (listed ? { ...a, text: a.text.replaceAll(token, 'input') } : { ...input, text: a.text }) : a));
  else inner.push(input);
  w.run(inner, cloneState(st), fact, TTY, cwds);
  return false;
}

export function runWatch(w: Runner, args: Arg[], st: ShellState, fact: Fact, cwds: Cwd[]): boolean {
  let i = 0;
  let exec = false;
  for (; i < args.length; i++) {
    const t = args[i]?.text ?? '';
    if (!t.startsWith('-')) break;
    if (t === '-x' || t === '--exec') exec = true;
    else if (t === '-n' || t === '--interval' || t === '-q' || t === '--equexit') i++;
  }
  const inner = args.slice(i);
  if (exec) return w.run(inner, cloneState(st), fact, TTY, cwds);
  w.nested(joinArgs(inner), cloneState(st), fact);
  return false;
}

export function runShell(w: Runner, args: Arg[], st: ShellState, fact: Fact, stdin: Stdin, cwds: Cwd[]): boolean {
  let i = 0;
  let dashC = false;
  for (; i < args.length; i++) {
    const t = args[i]?.text ?? '';
    if (t === '--' || t === '-') {
      i++;
      break;
    }
    if (SHELL_VALUE_OPTS.has(t)) i++;
    else if (/^[-+][A-Za-z]+$/.test(t)) {
      dashC ||= t.startsWith('-') && t.includes('c');
      // In a cluster, each o/O takes the next word as its value: `bash -euo pipefail -c …`.
      i += [...t].filter((ch) => ch === 'o' || ch === 'O').length;
    } else if (!t.startsWith('--')) break;
  }
  const first = args[i];
  const inner = cloneState(st);
  inner.cwds = cwds;
  if (dashC) {
    if (first) w.nested(first, inner, fact);
    return false;
  }
  if (first && !(!first.unknown && isStdinPath(first.text))) {
    // A script file: its contents are not analysed; it is simply not read-only.
    w.path(first, 'read', cwds);
    w.cwd(cwds);
    fact.readOnly = false;
    return false;
  }
  if (stdin.kind === 'text') w.nested({ text: stdin.text, glob: false }, inner, fact);
  else if (stdin.kind === 'pipe') {
    w.gate(fact.text, 'runs a script read from a pipe, which cannot be inspected before it runs');
    fact.readOnly = false;
  } else {
    w.cwd(cwds);
    fact.readOnly = false;
  }
  return false;
}

export function runWrapper(w: Runner, name: string, spec: WrapperSpec, args: Arg[], st: ShellState, fact: Fact, stdin: Stdin, cwds: Cwd[]): boolean {
  let i = 0;
  let here = cwds;
  let script: Arg | undefined;
  for (; i < args.length; i++) {
    const a = args[i];
    if (!a || a.unknown) break;
    const t = a.text;
    if (t === '--') {
      i++;
      break;
    }
    if (spec.assigns && /^[A-Za-z_][A-Za-z0-9_]*=/.test(t)) continue;
    if (!t.startsWith('-') || t === '-') break;
    if (spec.lookupOpts?.has(t)) return false; // `command -v x`: a lookup, nothing runs
    const long = t.startsWith('--');
    const eq = t.indexOf('=');
    const key = long ? (eq > 0 ? t.slice(0, eq) : t) : spec.valueOpts.has(t) ? t : t.slice(0, 2);
    if (!spec.valueOpts.has(key)) continue;
    const attached = long ? (eq > 0 ? t.slice(eq + 1) : undefined) : t.length > 2 ? t.slice(2) : undefined;
    const value: Arg | undefined = attached !== undefined ? { text: attached, glob: false } : args[++i];
    if (!value) continue;
    if (spec.chdirOpts?.has(key)) {
      w.path(value, 'cwd', here);
      here = w.chdir(here, value);
    }
    if (spec.outputOpts?.has(key)) {
      w.path(value, 'write', here);
      fact.readOnly = false;
    }
    if (spec.scriptOpts?.has(key)) script = value;
  }
  for (let k = 0; k < spec.before && i < args.length; k++, i++) {
    const a = args[i];
    if (a && name === 'flock') w.path(a, 'write', here);
  }
  const inner = args.slice(i);
  if (script) {
    // su -c / flock -c run the script; env -S splits its string into the command's first words.
    const text = name === 'env' ? joinArgs([script, ...inner]) : script;
    const s = cloneState(st);
    s.cwds = here;
    w.nested(text, s, fact);
    return false;
  }
  if (inner.length === 0) {
    if (!isReadOnly(name, [])) fact.readOnly = false;
    return false;
  }
  // `command cd x` / `builtin cd x` run in this shell; the other wrappers are separate processes.
  const shared = name === 'command' || name === 'builtin' || name === 'exec';
  return w.run(inner, shared ? st : cloneState(st), fact, stdin, here);
}

/** Names of a process's own stdin: a "script file" that is really the input. */
export function isStdinPath(t: string): boolean {
  return t === '-' || t === '/dev/stdin' || t === '/dev/fd/0' || t === '/proc/self/fd/0';
}

export function joinArgs(args: readonly Arg[]): Arg {
  const unknown = args.find((a) => a.unknown)?.unknown;
  const text = args.map((a) => a.text).join(' ');
  return unknown === undefined ? { text, glob: false } : { text, unknown, glob: false };
}
