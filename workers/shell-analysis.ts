import { LINE_FILTERS, NON_PATH_ARGS, PATTERN_FIRST, SHELLS, TWO_VALUE_OPTS, VALUE_OPTS, WRAPPERS, hasFlag, isListing, isReadOnly, outsideEffect, plainRelative, quoteWord, systemGate, type Arg } from './shell-commands.ts';
import { cloneState, expandJoined, expandWord, initialState, unionCwds, type Cwd, type ExpandContext, type ShellState } from './shell-expand.ts';
import { classifyGit } from './shell-git.ts';
import { type Containment, type Finding, isDevicePath } from './shell-paths.ts';
import { TTY, isStdinPath, joinArgs, runFind, runShell, runWatch, runWrapper, runXargs, type Fact, type Role, type Runner, type Stdin } from './shell-runners.ts';
import { parseShell, type Command, type Redirect, type Script, type SimpleCommand } from './shell-words.ts';

/**
 * Everything the permission policy needs to know about one shell command line:
 * the hard gates it would run, the paths and directories outside the worktree
 * it would touch, and which of its commands are not read-only. Walks the
 * parsed script in execution order, tracking the working directory through
 * `cd` (a set of possible directories: `cd x; y` may run y in either) and the
 * variables it assigns, and recursing wherever the shell would run text as a
 * command: `sh -c`, `eval`, `xargs`, `find -exec`, wrappers such as
 * `env`/`sudo`/`timeout`, `$( )`, here-documents fed to a shell.
 */
export interface ShellAnalysis {
  /** Set when the text (or a script inside it) cannot be parsed: nothing else is reliable. */
  parseError?: string;
  gates: Finding[];
  outside: Finding[];
  /** The commands (as written) that are not read-only. */
  notReadOnly: string[];
}

export function analyzeShell(command: string, containment: Containment): ShellAnalysis {
  const parsed = parseShell(command);
  if (!parsed.ok) return { parseError: parsed.error, gates: [], outside: [], notReadOnly: [] };
  const w = new Walker(containment);
  try {
    w.script(parsed.script, initialState(containment.root));
  } catch (e) {
    if (!(e instanceof TooBig)) throw e;
    w.errors.push(e.message);
  }
  const result: ShellAnalysis = { gates: [...w.gates.values()], outside: [...w.outside.values()], notReadOnly: w.notReadOnly };
  if (w.errors.length > 0) result.parseError = w.errors.join('; ');
  return result;
}

const MAX_COMMANDS = 2_000;
const MAX_DEPTH = 24;
const SETS_VARS = new Set(['export', 'local', 'declare', 'typeset', 'readonly']);

class TooBig extends Error {}

const clip = (t: string, n = 80): string => (t.length > n ? `${t.slice(0, n - 1)}…` : t);

class Walker implements Runner {
  readonly gates = new Map<string, Finding>();
  readonly outside = new Map<string, Finding>();
  readonly notReadOnly: string[] = [];
  readonly errors: string[] = [];
  private budget = MAX_COMMANDS;
  private depth = 0;
  private readonly ctx: ExpandContext;

  constructor(private readonly c: Containment) {
    this.ctx = { root: c.root, isInside: (p) => c.isInside(p), walkSub: (s, st) => this.script(s, cloneState(st)) };
  }

  // ---- findings ---------------------------------------------------------------

  gate(subject: string, why: string): void {
    const key = `${subject}\u0000${why}`;
    if (!this.gates.has(key)) this.gates.set(key, { subject: clip(subject), why });
  }
  private out(subject: string, why: string): void {
    if (!this.outside.has(subject)) this.outside.set(subject, { subject: clip(subject), why });
  }
  private finish(fact: Fact): void {
    if (!fact.readOnly && !this.notReadOnly.includes(fact.text)) this.notReadOnly.push(fact.text);
  }

  /** A path the command touches, relative to every directory it may run in. */
  path(a: Arg, role: Role, cwds: readonly Cwd[]): void {
    if (a.unknown) return this.out(a.text, `cannot be checked before it runs (it depends on ${a.unknown})`);
    let t = a.text;
    if (/^@[/~.]/.test(t)) t = t.slice(1); // curl -d @file, response files
    if (t.startsWith('file://')) t = t.slice(7);
    if (t === '' || isDevicePath(t)) return;
    const dirs: string[] = [];
    if (t.startsWith('/') || t.startsWith('~')) dirs.push(this.c.root);
    else
      for (const cwd of cwds) {
        if ('unknown' in cwd) this.out(t, `is relative to a directory only known when it runs (${cwd.unknown})`);
        else dirs.push(cwd.dir);
      }
    for (const f of this.c.check(t, dirs, { glob: a.glob })) this.out(f.subject, f.why);
    if (role === 'write' && !t.startsWith('~'))
      for (const d of dirs)
        if (this.c.isGitMetadata(this.c.resolve(d, t))) this.gate(t, 'modifies .git, which links the worktree to its repository');
  }

  /** The directories a command runs in must be inside the worktree. */
  cwd(cwds: readonly Cwd[]): void {
    for (const cwd of cwds) {
      if ('unknown' in cwd) this.out('(working directory)', `is only known when it runs (${cwd.unknown})`);
      else if (!this.c.isInside(cwd.dir)) this.out(cwd.dir, "is the working directory, outside the job's worktree");
    }
  }

  chdir(cwds: readonly Cwd[], target: Arg): Cwd[] {
    if (target.unknown) return [{ unknown: `cd ${target.text}` }];
    const t = target.text;
    if (t.startsWith('~')) return [{ dir: t }];
    if (t.startsWith('/')) return [{ dir: this.c.resolve(this.c.root, t) }];
    return cwds.map((cwd) => ('dir' in cwd && !cwd.dir.startsWith('~') ? { dir: this.c.resolve(cwd.dir, t) } : cwd));
  }

  // ---- scripts and commands -------------------------------------------------

  /** Judges a script; returns whether its output is a listing of worktree paths. */
  script(s: Script, st: ShellState): boolean {
    if (++this.depth > MAX_DEPTH) throw new TooBig('the command is nested too deeply to analyse');
    let prev: Script['items'][number]['next'] = null;
    let listing = false;
    for (const item of s.items) {
      // After `&&` the previous command succeeded (a `cd` took effect); after `;` `||` `&` it may not have.
      if (prev !== '&&' && prev !== '|' && prev !== '|&') settle(st);
      const piped = prev === '|' || prev === '|&';
      // Pipeline elements and background jobs run in subshells: a cd there does not leak.
      const own = piped || item.next === '|' || item.next === '|&' || item.next === '&';
      listing = this.command(item.command, own ? cloneState(st) : st, piped ? { kind: 'pipe', listing } : TTY);
      prev = item.next;
    }
    settle(st);
    this.depth--;
    return listing;
  }

  /** Returns whether the command prints paths from inside the worktree (for `… | xargs`). */
  private command(cmd: Command, st: ShellState, stdin: Stdin): boolean {
    switch (cmd.type) {
      case 'simple':
        return this.simple(cmd, st, stdin);
      case 'group': {
        const fact: Fact = { text: cmd.subshell ? '( … )' : '{ … }', readOnly: true };
        this.redirects(cmd.redirects, st, fact);
        this.finish(fact);
        this.script(cmd.body, cmd.subshell ? cloneState(st) : st);
        return false;
      }
      case 'for': {
        const items = cmd.items?.flatMap((w) => expandWord(w, st, this.ctx));
        if (cmd.name === '') return false;
        // The loop variable takes each item in turn: harmless items make a harmless placeholder.
        const risky = items?.find((a) => a.unknown || !plainRelative(a));
        if (!items) st.vars.set(cmd.name, { unknown: `$${cmd.name}, the script's arguments` });
        else if (risky?.unknown) st.vars.set(cmd.name, { unknown: `$${cmd.name}, from ${risky.unknown}` });
        else st.vars.set(cmd.name, { text: risky ? risky.text : 'item' });
        return false;
      }
      case 'case': {
        expandJoined(cmd.subject, st, this.ctx);
        const entry = cloneState(st);
        for (const arm of cmd.arms) {
          const s = cloneState(entry);
          this.script(arm, s);
          st.cwds = unionCwds(st.cwds, s.cwds);
        }
        return false;
      }
      case 'function':
        // Judged where it is defined, as if it were called.
        this.command(cmd.body, cloneState(st), TTY);
        return false;
    }
  }

  private simple(cmd: SimpleCommand, st: ShellState, stdin: Stdin): boolean {
    if (--this.budget < 0) throw new TooBig(`the command line has more than ${MAX_COMMANDS} commands to analyse`);
    const fact: Fact = { text: clip(cmd.words.map((w) => w.raw).join(' ') || cmd.redirects.map((r) => `${r.op}${r.target.raw}`).join(' ')), readOnly: true };
    const assigns = cmd.assigns.map((a) => [a.name, expandJoined(a.value, st, this.ctx)] as const);
    const argv = cmd.words.flatMap((w) => expandWord(w, st, this.ctx));
    const input = this.redirects(cmd.redirects, st, fact) ?? stdin;
    let listing = false;
    if (argv.length === 0) {
      for (const [name, v] of assigns) st.vars.set(name, v.unknown ? { unknown: v.unknown } : { text: v.text });
    } else listing = this.run(argv, st, fact, input, st.cwds);
    this.finish(fact);
    return listing;
  }

  /** Checks redirection targets; returns what stdin becomes, if a redirection sets it. */
  private redirects(list: readonly Redirect[], st: ShellState, fact: Fact): Stdin | undefined {
    let stdin: Stdin | undefined;
    for (const r of list) {
      const v = expandJoined(r.target, st, this.ctx);
      if (r.heredoc) {
        stdin = { kind: 'text', text: r.heredoc.body };
        continue;
      }
      if (r.op === '<<<') {
        stdin = v.unknown ? { kind: 'pipe', listing: false } : { kind: 'text', text: v.text };
        continue;
      }
      if ((r.op === '>&' || r.op === '<&') && !v.unknown && /^(\d+-?|-)$/.test(v.text)) continue; // fd duplication
      const write = r.op !== '<' && r.op !== '<&';
      if (!write) stdin = { kind: 'file' };
      this.path(v, write ? 'write' : 'read', st.cwds);
      if (write && !isDevicePath(v.text)) fact.readOnly = false;
    }
    return stdin;
  }

  /** One command with its expanded arguments; wrappers recurse with the command they run. */
  run(argv: Arg[], st: ShellState, fact: Fact, stdin: Stdin, cwds: Cwd[]): boolean {
    const [head, ...args] = argv;
    if (!head) return false;
    if (head.unknown) {
      this.gate(fact.text, `runs a command whose name is only known when it runs (${head.unknown})`);
      fact.readOnly = false;
      return false;
    }
    const alias = st.aliases.get(head.text);
    if (alias !== undefined) {
      // The shell replaces the alias by its text: judge the expanded command line (a new fact, bounded by depth).
      this.nested(joinArgs([{ text: alias, glob: false }, ...args.map((a) => (a.unknown ? a : { ...a, text: quoteWord(a.text) }))]), cloneState(st), fact);
      return false;
    }
    const name = head.text.slice(head.text.lastIndexOf('/') + 1);
    if (head.text.includes('/')) this.path(head, 'read', cwds);
    const gate = systemGate(name, args);
    if (gate) this.gate(fact.text, gate);
    const effect = outsideEffect(name, args);
    if (effect) this.out(fact.text, effect);

    switch (name) {
      case 'cd':
      case 'pushd':
      case 'popd':
        this.cd(name, args, st, cwds);
        return false;
      case 'git':
        return this.git(args, fact, cwds);
      case 'find':
        return runFind(this, args, st, fact, cwds);
      case 'xargs':
        return runXargs(this, args, st, fact, stdin, cwds);
      case 'eval':
        this.nested(joinArgs(args), st, fact);
        return false;
      case 'watch':
        return runWatch(this, args, st, fact, cwds);
      case 'source':
      case '.':
        // `. /dev/stdin <<< '…'` runs its input, like a shell reading a script from stdin.
        if (args[0] && !args[0].unknown && isStdinPath(args[0].text)) return runShell(this, [], st, fact, stdin, cwds);
        for (const a of args) this.path(a, 'read', cwds);
        this.cwd(cwds);
        fact.readOnly = false;
        return false;
      case 'alias':
        for (const a of args) {
          const eq = a.text.indexOf('=');
          if (eq <= 0) continue;
          const value: Arg = a.unknown ? a : { text: a.text.slice(eq + 1), glob: false };
          this.nested(value, cloneState(st), fact); // judged where defined, too
          if (value.unknown) st.aliases.delete(a.text.slice(0, eq));
          else st.aliases.set(a.text.slice(0, eq), value.text);
        }
        return false;
      case 'trap': {
        // trap 'commands' SIGNAL…: the commands run later, in this shell.
        const first = args[0];
        if (first && args.length >= 2 && (first.unknown || !first.text.startsWith('-'))) this.nested(first, cloneState(st), fact);
        return false;
      }
      case 'unset':
      case 'read':
        for (const a of args) if (!a.text.startsWith('-')) st.vars.set(a.text, { unknown: `$${a.text}` });
        return false;
    }
    if (SETS_VARS.has(name))
      for (const a of args) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(a.text);
        if (m?.[1] !== undefined) st.vars.set(m[1], a.unknown ? { unknown: a.unknown } : { text: m[2] ?? '' });
      }
    if (SHELLS.has(name)) return runShell(this, args, st, fact, stdin, cwds);
    const wrapper = WRAPPERS.get(name);
    if (wrapper) return runWrapper(this, name, wrapper, args, st, fact, stdin, cwds);
    return this.generic(name, args, fact, stdin, cwds);
  }

  private generic(name: string, args: Arg[], fact: Fact, stdin: Stdin, cwds: Cwd[]): boolean {
    const readOnly = isReadOnly(name, args);
    if (!readOnly) fact.readOnly = false;
    if (NON_PATH_ARGS.has(name)) return false;
    this.cwd(cwds);
    const role: Role = readOnly ? 'read' : 'write';
    const pattern = PATTERN_FIRST.get(name);
    let skipPattern = pattern !== undefined && !hasFlag(args, pattern.longs, pattern.shorts);
    const valueOpts = VALUE_OPTS.get(name);
    let ended = false;
    let files = 0;
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
        if (t.startsWith('--') && eq > 0) this.optionValue(t.slice(eq + 1), a, role, cwds);
        else if (valueOpts?.has(t)) {
          // A text value, except that `@file` inside it names a file to read (curl -d @f, -F k=@f).
          const n = TWO_VALUE_OPTS.has(t) ? 2 : 1;
          for (const v of args.slice(i + 1, i + 1 + n)) if (!v.unknown && v.text.includes('@')) this.optionValue(v.text.slice(v.text.indexOf('@') + 1), v, role, cwds);
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
        this.optionValue(asg[1] ?? '', a, role, cwds); // make PREFIX=/usr, dd of=/dev/sda
        continue;
      }
      files++;
      this.path(a, role, cwds);
    }
    const passesThrough = LINE_FILTERS.has(name) && files === 0 && stdin.kind === 'pipe' && stdin.listing;
    return readOnly && (isListing(name, args) || passesThrough);
  }

  /** The value of an option or NAME=value argument: checked when it could name a path. */
  private optionValue(v: string, a: Arg, role: Role, cwds: Cwd[]): void {
    if (v.startsWith('@')) v = v.slice(1);
    if (v.includes('/') || v.startsWith('~') || v === '..') this.path({ text: v, glob: a.glob }, role, cwds);
  }

  private cd(name: string, args: Arg[], st: ShellState, cwds: Cwd[]): void {
    const target = args.find((a) => a.unknown || !a.text.startsWith('-') || a.text === '-');
    let next: Cwd[];
    if (name === 'popd') next = [{ unknown: 'popd' }];
    else if (!target) {
      next = [{ dir: '~' }];
      this.out(`${name} (no directory)`, "goes to the home directory, outside the job's worktree");
    } else if (!target.unknown && (target.text === '-' || /^[+-]\d+$/.test(target.text))) next = [{ unknown: `${name} ${target.text}` }];
    else {
      this.path(target, 'cwd', cwds);
      next = this.chdir(cwds, target);
    }
    st.pending = unionCwds(st.pending, st.cwds);
    st.cwds = next;
  }

  private git(args: Arg[], fact: Fact, cwds: Cwd[]): boolean {
    const v = classifyGit(args);
    if (v.gate) this.gate(fact.text, v.gate);
    if (!v.readOnly) fact.readOnly = false;
    let gitCwds = cwds;
    for (const d of v.chdir) {
      this.path(d, 'cwd', gitCwds);
      gitCwds = this.chdir(gitCwds, d);
    }
    this.cwd(gitCwds);
    for (const p of v.paths) this.path(p.arg, p.role, gitCwds);
    return v.listing;
  }

  /** Text the shell will run as a script (`sh -c`, `eval`, …). */
  nested(text: Arg, st: ShellState, fact: Fact): void {
    if (text.unknown) {
      this.gate(fact.text, `runs a script only known when it runs (${text.unknown})`);
      fact.readOnly = false;
      return;
    }
    const r = parseShell(text.text);
    if (!r.ok) {
      this.errors.push(`${r.error} in the script ${clip(JSON.stringify(text.text), 60)}`);
      return;
    }
    this.script(r.script, st);
  }
}

function settle(st: ShellState): void {
  if (st.pending.length === 0) return;
  st.cwds = unionCwds(st.cwds, st.pending);
  st.pending = [];
}
