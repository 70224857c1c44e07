import { FIND_RUNS, FIND_WRITES, isListing, type Arg } from './shell-commands.ts';
import { cloneState, type Cwd, type ShellState } from './shell-expand.ts';
import { optionSpec, walkLeadingOptions } from './shell-options.ts';

/**
 * How the commands that run other commands are read: find -exec, xargs,
 * watch and shells (`sh -c`, a script on stdin); wrappers such as env and
 * timeout are in shell-wrappers.ts. Each finds the command or script it runs
 * and hands it back to the walker (shell-analysis.ts) through `Runner`. An
 * option they are not known to have fails closed: the policy cannot tell
 * which word is the command, so it does not guess.
 */

/** What the command's stdin is: it matters for `sh` (a script) and `xargs` (arguments). */
export type Stdin = { kind: 'tty' } | { kind: 'pipe'; listing: boolean } | { kind: 'text'; text: string } | { kind: 'file' };
export const TTY: Stdin = { kind: 'tty' };
/** One simple command as judged: its text for messages, whether it only reads, and why not. */
export interface Fact {
  text: string;
  readOnly: boolean;
  why?: string;
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
  /** Records something the policy cannot judge (it asks in every mode). */
  opaque(subject: string, why: string): void;
}

/** find primaries that take no value / one value; anything else is unknown. */
const FIND_FLAGS = new Set(['-empty', '-depth', '-d', '-mount', '-xdev', '-x', '-follow', '-noleaf', '-ignore_readdir_race', '-noignore_readdir_race', '-daystart', '-prune', '-quit', '-print', '-print0', '-ls', '-true', '-false', '-not', '-and', '-or', '-a', '-o', '-readable', '-writable', '-executable', '-nouser', '-nogroup', '(', ')', '!', ',']);
const FIND_VALUE_OPTS = new Set(['-name', '-iname', '-path', '-ipath', '-regex', '-iregex', '-type', '-xtype', '-maxdepth', '-mindepth', '-size', '-mtime', '-atime', '-ctime', '-mmin', '-amin', '-cmin', '-perm', '-user', '-group', '-uid', '-gid', '-printf', '-links', '-inum', '-fstype', '-wholename', '-iwholename', '-lname', '-ilname', '-used', '-context', '-regextype', '-Bmin', '-Btime']);
/** find primaries whose value is a file it reads. */
const FIND_READS = new Set(['-newer', '-anewer', '-cnewer', '-samefile', '-files0-from']);

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
    const a = args[i];
    const t = a?.text ?? '';
    if (!a) continue;
    if (FIND_RUNS.has(t)) {
      const inner: Arg[] = [];
      // `{}` is a path find found under its (already checked) roots.
      for (i++; i < args.length && args[i]?.text !== ';' && args[i]?.text !== '+'; i++) {
        const x = args[i];
        if (x) inner.push(x.unknown ? x : { ...x, text: x.text.replaceAll('{}', 'found') });
      }
      w.run(inner, cloneState(st), fact, TTY, cwds);
    } else if (FIND_WRITES.has(t)) {
      fact.readOnly = false;
      const file = t === '-delete' ? undefined : args[++i];
      if (t === '-fprintf') i++; // its format
      if (file) w.path(file, 'write', cwds);
    } else if (FIND_READS.has(t)) {
      const file = args[++i];
      if (file) w.path(file, 'read', cwds);
    } else if (FIND_VALUE_OPTS.has(t) || /^-newer[amcBt][amcBt]$/.test(t)) i++;
    else if (a.unknown || !FIND_FLAGS.has(t)) {
      // An expression the policy does not know (or only known at run time): not read-only.
      fact.readOnly = false;
      fact.why ??= `${a.unknown ? a.text : t} is not a find expression known to be read-only`;
    }
  }
  return fact.readOnly && isListing('find', args);
}

/** `fd … -x cmd`: the command runs on every match, like find -exec. */
export function runFdExec(w: Runner, args: Arg[], st: ShellState, fact: Fact, cwds: Cwd[]): void {
  const at = args.findIndex((a) => ['-x', '-X', '--exec', '--exec-batch'].includes(a.text));
  if (at < 0) return;
  const end = args.findIndex((a, k) => k > at && a.text === ';');
  const inner = args.slice(at + 1, end < 0 ? undefined : end).map((a) => (a.unknown ? a : { ...a, text: a.text.replace(/\{[/.]*\}/g, 'found') }));
  w.run(inner, cloneState(st), fact, TTY, cwds);
}

const XARGS_OPTS = optionSpec(`-0 --null -a= --arg-file= -d= --delimiter= -E= -e? --eof? -I= -i? --replace? -L= -l? --max-lines?
  -n= --max-args= -o --open-tty -p --interactive --process-slot-var= -P= --max-procs= -r --no-run-if-empty -s= --max-chars=
  --show-limits -t --verbose -x --exit`);

/**
 * xargs runs its command with words read from stdin. When the input is a
 * listing of the worktree (`find . | xargs rm`) those words are paths inside;
 * otherwise (`echo ../x | xargs rm`) nobody can tell where they point.
 */
export function runXargs(w: Runner, args: Arg[], st: ShellState, fact: Fact, stdin: Stdin, cwds: Cwd[]): boolean {
  const lead = walkLeadingOptions(XARGS_OPTS, args);
  if (lead.unknown !== undefined) {
    w.opaque(fact.text, `xargs is given ${lead.unknown}, an option the policy does not know, so which command it runs is unknown`);
    fact.readOnly = false;
    return false;
  }
  let replace: string | undefined;
  let fromFile = false;
  for (const { opt, value } of lead.values) {
    if (opt === '-I' || opt === '--replace' || opt === '-i') replace = value.text || '{}';
    if (opt === '-a' || opt === '--arg-file') {
      w.path(value, 'read', cwds);
      fromFile = true;
    }
  }
  const listed = !fromFile && stdin.kind === 'pipe' && stdin.listing;
  const input: Arg = listed ? { text: 'input', glob: false } : { text: '(xargs input)', unknown: 'the words xargs reads from its input', glob: false };
  let inner = args.slice(lead.end);
  if (inner.length === 0) inner = [{ text: 'echo', glob: false }];
  const token = replace;
  if (token) inner = inner.map((a) => (a.text.includes(token) ? (listed ? { ...a, text: a.text.replaceAll(token, 'input') } : { ...input, text: a.text }) : a));
  else inner.push(input);
  w.run(inner, cloneState(st), fact, TTY, cwds);
  return false;
}

const WATCH_OPTS = optionSpec('-n= --interval= -d? --differences? -g --chgexit -e --errexit -b --beep -c --color -C --no-color -t --no-title -w --no-wrap -p --precise -x --exec -q= --equexit= -r --no-rerun -s= --shotsfmt=');

export function runWatch(w: Runner, args: Arg[], st: ShellState, fact: Fact, cwds: Cwd[]): boolean {
  const lead = walkLeadingOptions(WATCH_OPTS, args);
  if (lead.unknown !== undefined) {
    w.opaque(fact.text, `watch is given ${lead.unknown}, an option the policy does not know, so which command it runs is unknown`);
    fact.readOnly = false;
    return false;
  }
  const inner = args.slice(lead.end);
  if (lead.values.some((v) => v.opt === '-x' || v.opt === '--exec')) return w.run(inner, cloneState(st), fact, TTY, cwds);
  w.nested(joinArgs(inner), cloneState(st), fact);
  return false;
}

/** Shell options that change nothing about what runs: errexit, xtrace, noglob… */
const SAFE_SHELL_FLAGS = 'ceuxvfCnhBETPbm';
const SAFE_SET_O = new Set(['errexit', 'nounset', 'pipefail', 'xtrace', 'verbose', 'noglob', 'noclobber', 'noexec', 'posix', 'errtrace', 'functrace', 'physical', 'braceexpand', 'hashall', 'notify', 'monitor', 'emacs', 'vi', 'ignoreeof', 'interactive-comments', 'nolog']);
const SAFE_SHOPT = new Set(['nullglob', 'failglob', 'globstar', 'extglob', 'dotglob', 'nocaseglob', 'nocasematch', 'lastpipe', 'inherit_errexit', 'pipefail', 'globasciiranges']);
const SAFE_SHELL_LONGS = new Set(['--norc', '--noprofile', '--posix', '--noediting', '--verbose', '--version', '--help']);

/**
 * Why a `set`/shell option makes later commands run differently (`-a` exports every
 * variable, `-k` turns `NAME=value` arguments into environment, `-i` and
 * `--rcfile` read startup files): undefined when it is harmless.
 */
export function unsafeShellOption(t: string, value: string | undefined): string | undefined {
  if (t === '-o' || t === '+o') return value === undefined || SAFE_SET_O.has(value) ? undefined : `set -o ${value}`;
  if (t === '-O' || t === '+O') return value === undefined || SAFE_SHOPT.has(value) ? undefined : `-O ${value}`;
  if (t.startsWith('--')) return SAFE_SHELL_LONGS.has(t) ? undefined : t;
  const bad = [...t.slice(1)].find((c) => !SAFE_SHELL_FLAGS.includes(c) && c !== 'o' && c !== 'O' && c !== 's');
  return bad === undefined ? undefined : `${t.charAt(0)}${bad}`;
}

export function runShell(w: Runner, args: Arg[], st: ShellState, fact: Fact, stdin: Stdin, cwds: Cwd[]): boolean {
  let i = 0;
  let dashC = false;
  for (; i < args.length; i++) {
    const a = args[i];
    const t = a?.text ?? '';
    if (!a || a.unknown) break;
    if (t === '--' || t === '-') {
      i++;
      break;
    }
    if (t === '-o' || t === '+o' || t === '-O' || t === '+O' || t === '--rcfile' || t === '--init-file') {
      const v = args[++i];
      const bad = unsafeShellOption(t, v?.text);
      if (bad) w.opaque(fact.text, `starts the shell with ${bad}, which makes it read startup files or run commands differently`);
    } else if (/^[-+][A-Za-z]+$/.test(t)) {
      dashC ||= t.startsWith('-') && t.includes('c');
      const bad = unsafeShellOption(t, undefined);
      if (bad) w.opaque(fact.text, `starts the shell with ${bad}, which makes it read startup files or run commands differently`);
      // In a cluster, each o/O takes the next word as its value: `bash -euo pipefail -c …`.
      for (const ch of [...t].filter((c) => c === 'o' || c === 'O')) {
        const v = args[++i];
        const worse = unsafeShellOption(`${t.charAt(0)}${ch}`, v?.text);
        if (worse) w.opaque(fact.text, `starts the shell with ${worse}, which changes how it runs commands`);
      }
    } else if (t.startsWith('--')) {
      const bad = unsafeShellOption(t, undefined);
      if (bad) w.opaque(fact.text, `starts the shell with ${bad}, which makes it read startup files`);
    } else break;
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

/** Names of a process's own stdin: a "script file" that is really the input. */
export function isStdinPath(t: string): boolean {
  return t === '-' || t === '/dev/stdin' || t === '/dev/fd/0' || t === '/proc/self/fd/0';
}

export function joinArgs(args: readonly Arg[]): Arg {
  const unknown = args.find((a) => a.unknown)?.unknown;
  const text = args.map((a) => a.text).join(' ');
  return unknown === undefined ? { text, glob: false } : { text, unknown, glob: false };
}
