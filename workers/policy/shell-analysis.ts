import { aliasArgs, assignVariable, runBuiltin } from './shell-builtins.ts';
import { SHELLS, outsideEffect, plainRelative, systemGate, type Arg } from './shell-commands.ts';
import { assignmentWhy, harmlessSetting } from './shell-env.ts';
import { cloneState, expandJoined, expandWord, initialState, unionCwds, type Cwd, type ExpandContext, type ShellState, type VarValue } from './shell-expand.ts';
import { classifyGit } from './shell-git.ts';
import { inlineCode } from './shell-interpreters.ts';
import { type Containment, type Finding, isDevicePath } from './shell-paths.ts';
import { programOption } from './shell-programs.ts';
import { runGeneric } from './shell-generic.ts';
import { TTY, isStdinPath, joinArgs, runFdExec, runFind, runShell, runWatch, runXargs, type Fact, type Role, type Runner, type Stdin } from './shell-runners.ts';
import { parseShell, type Command, type Redirect, type Script, type SimpleCommand } from './shell-words.ts';
import { WRAPPERS, runWrapper } from './shell-wrappers.ts';

/**
 * Everything the permission policy needs to know about one shell command line:
 * the hard gates it would run, what it does that the policy cannot judge
 * (code in another language, a program handed to a command in an option or a
 * variable), the paths and directories outside the worktree it would touch,
 * and which of its commands are not read-only. Walks the parsed script in
 * execution order, tracking the working directory through `cd` (a set of
 * possible directories: `cd x; y` may run y in either) and the variables it
 * assigns, and recursing wherever the shell would run text as a command:
 * `sh -c`, `eval`, `xargs`, `find -exec`, wrappers such as `env`/`timeout`,
 * `$( )`, `<( )`/`>( )`, here-documents fed to a shell, aliases, traps.
 */
export interface ShellAnalysis {
  /** Set when the text (or a script inside it) cannot be parsed: nothing else is reliable. */
  parseError?: string;
  gates: Finding[];
  /** What the policy cannot judge: it asks in every mode (denied in observe_only). */
  opaque: Finding[];
  outside: Finding[];
  /** The commands (as written) that are not read-only, and why when known. */
  notReadOnly: { text: string; why?: string }[];
}

export function analyzeShell(command: string, containment: Containment): ShellAnalysis {
  const parsed = parseShell(command);
  if (!parsed.ok) return { parseError: parsed.error, gates: [], opaque: [], outside: [], notReadOnly: [] };
  const w = new Walker(containment);
  try {
    w.script(parsed.script, initialState(containment.root));
  } catch (e) {
    // Too big, or a fault in the analysis itself: either way nothing here may be approved automatically.
    w.errors.push(e instanceof TooBig ? e.message : `the analysis failed (${e instanceof Error ? e.message : String(e)})`);
  }
  const result: ShellAnalysis = { gates: [...w.gates.values()], opaque: [...w.unjudged.values()], outside: [...w.outside.values()], notReadOnly: w.notReadOnly };
  if (w.errors.length > 0) result.parseError = w.errors.join('; ');
  return result;
}

const MAX_COMMANDS = 2_000;
const MAX_DEPTH = 24;
/** Where a command named by its path is still the system's command of that name. */
const SYSTEM_BIN = /^\/(usr\/(local\/)?)?s?bin\/[^/]+$/;
/** Commands that start sessions or jobs running command lines later or elsewhere. */
const DETACHED = new Set(['tmux', 'screen', 'parallel', 'nq', 'tsp', 'pueue']);

class TooBig extends Error {}

const clip = (t: string, n = 80): string => (t.length > n ? `${t.slice(0, n - 1)}…` : t);

class Walker implements Runner {
  readonly gates = new Map<string, Finding>();
  readonly unjudged = new Map<string, Finding>();
  readonly outside = new Map<string, Finding>();
  readonly notReadOnly: { text: string; why?: string }[] = [];
  readonly errors: string[] = [];
  private budget = MAX_COMMANDS;
  private depth = 0;
  private readonly ctx: ExpandContext;

  constructor(private readonly c: Containment) {
    this.ctx = {
      root: c.root,
      isInside: (p) => c.isInside(p),
      // `>(cmd)` reads what the outer command writes: its stdin is a pipe of unknown content.
      walkSub: (s, st, how) => this.script(s, cloneState(st), how === '>(' ? { kind: 'pipe', listing: false } : TTY),
      opaque: (subject, why) => this.opaque(subject, why),
    };
  }

  // ---- findings ---------------------------------------------------------------

  gate(subject: string, why: string): void {
    const key = `${subject}\u0000${why}`;
    if (!this.gates.has(key)) this.gates.set(key, { subject: clip(subject), why });
  }
  opaque(subject: string, why: string): void {
    const key = `${subject}\u0000${why}`;
    if (!this.unjudged.has(key)) this.unjudged.set(key, { subject: clip(subject), why });
  }
  private out(subject: string, why: string): void {
    if (!this.outside.has(subject)) this.outside.set(subject, { subject: clip(subject), why });
  }
  private finish(fact: Fact): void {
    if (!fact.readOnly && !this.notReadOnly.some((n) => n.text === fact.text)) this.notReadOnly.push(fact.why ? { text: fact.text, why: fact.why } : { text: fact.text });
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
        if (this.c.isGitMetadata(this.c.resolve(d, t))) this.gate(t, 'modifies a .git directory (the worktree\'s link to its repository, or a nested repository\'s config and hooks, which git runs)');
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
  script(s: Script, st: ShellState, stdin: Stdin = TTY): boolean {
    if (++this.depth > MAX_DEPTH) throw new TooBig('the command is nested too deeply to analyse');
    let prev: Script['items'][number]['next'] = null;
    let listing = false;
    let first = true;
    for (const item of s.items) {
      // After `&&` the previous command succeeded (a `cd` took effect); after `;` `||` `&` it may not have.
      if (prev !== '&&' && prev !== '|' && prev !== '|&') settle(st);
      const piped = prev === '|' || prev === '|&';
      // Pipeline elements and background jobs run in subshells: a cd there does not leak.
      const own = piped || item.next === '|' || item.next === '|&' || item.next === '&';
      const input: Stdin = piped ? { kind: 'pipe', listing } : first ? stdin : TTY;
      listing = this.command(item.command, own ? cloneState(st) : st, input);
      prev = item.next;
      first = false;
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
        const input = this.redirects(cmd.redirects, st, fact) ?? stdin;
        this.finish(fact);
        this.script(cmd.body, cmd.subshell ? cloneState(st) : st, input);
        return false;
      }
      case 'for': {
        const fact: Fact = { text: `for ${cmd.name || '((…))'}`, readOnly: true };
        const items = cmd.items?.flatMap((w) => expandWord(w, st, this.ctx));
        if (cmd.name === '') {
          runBuiltin(this, '((', items ?? [], st, fact, TTY, st.cwds);
          return false;
        }
        // The loop variable takes each item in turn: harmless items make a harmless placeholder.
        const risky = items?.find((a) => a.unknown || !plainRelative(a));
        const numeric = items !== undefined && items.length > 0 && items.every((a) => !a.unknown && /^-?\d+$/.test(a.text));
        const value: VarValue = !items
          ? { unknown: `$${cmd.name}, the script's arguments` }
          : risky?.unknown
            ? { unknown: `$${cmd.name}, from ${risky.unknown}` }
            : { text: numeric ? '0' : risky ? risky.text : 'item' };
        assignVariable(this, cmd.name, value, false, st, fact);
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
    const words = [...cmd.assigns.map((a) => `${a.name}=${a.value.raw}`), ...cmd.words.map((w) => w.raw)];
    const fact: Fact = { text: clip(words.join(' ') || cmd.redirects.map((r) => `${r.op}${r.target.raw}`).join(' ')), readOnly: true };
    const assigns = cmd.assigns.map((a) => [a.name, expandJoined(a.value, st, this.ctx)] as const);
    const argv = cmd.words.flatMap((w) => expandWord(w, st, this.ctx));
    const input = this.redirects(cmd.redirects, st, fact) ?? stdin;
    let listing = false;
    if (argv.length === 0) {
      for (const [name, v] of assigns) assignVariable(this, name, v.unknown ? { unknown: v.unknown } : { text: v.text }, false, st, fact);
    } else {
      // `NAME=value cmd`: the variable is in cmd's environment. Only `IFS=` on read is the shell's own business.
      const head = argv[0]?.text ?? '';
      for (const [name, v] of assigns) {
        if (harmlessSetting(name, v) || (name === 'IFS' && ['read', 'mapfile', 'readarray'].includes(head))) continue;
        this.opaque(fact.text, assignmentWhy(name, `\`${clip(head, 30)}\``));
        fact.readOnly = false;
      }
      listing = this.run(argv, st, fact, input, st.cwds);
    }
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
    if (head.glob) {
      this.opaque(fact.text, `runs a command named by a pattern (${head.text}): which program it is is only known when it runs`);
      fact.readOnly = false;
      return false;
    }
    const alias = st.aliases.get(head.text);
    if (alias !== undefined) {
      // The shell replaces the alias by its text: judge the expanded command line (a new fact, bounded by depth).
      this.nested(joinArgs([{ text: alias, glob: false }, ...aliasArgs(args)]), cloneState(st), fact);
      return false;
    }
    const name = head.text.slice(head.text.lastIndexOf('/') + 1);
    if (head.text.includes('/')) {
      this.path(head, 'read', cwds);
      // `./ls` is whatever file that is, not the system's ls: judge its arguments, but it is a program of the worktree.
      if (!SYSTEM_BIN.test(head.text)) {
        fact.readOnly = false;
        fact.why ??= `it runs the program file ${head.text}`;
      }
    }
    const gate = systemGate(name, args);
    if (gate) this.gate(fact.text, gate);
    const effect = outsideEffect(name, args);
    if (effect) this.out(fact.text, effect);
    const program = programOption(name, args);
    if (program) this.opaque(fact.text, `hands ${name} a program or configuration to run (${program}), which the policy cannot judge`);
    const code = inlineCode(name, args, stdin);
    if (code) this.opaque(fact.text, code);
    if (DETACHED.has(name)) this.opaque(fact.text, `${name} runs command lines later or in a session of its own, which the policy cannot follow`);

    const builtin = runBuiltin(this, name, args, st, fact, stdin, cwds);
    if (builtin !== undefined) return builtin;
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
      case 'fd':
      case 'fdfind':
        runFdExec(this, args, st, fact, cwds);
        break;
      case 'source':
      case '.':
        // `. /dev/stdin <<< '…'` runs its input, like a shell reading a script from stdin.
        if (args[0] && !args[0].unknown && isStdinPath(args[0].text)) return runShell(this, [], st, fact, stdin, cwds);
        for (const a of args) this.path(a, 'read', cwds);
        this.cwd(cwds);
        fact.readOnly = false;
        return false;
    }
    if (SHELLS.has(name)) return runShell(this, args, st, fact, stdin, cwds);
    const wrapper = WRAPPERS.get(name);
    if (wrapper) return runWrapper(this, name, wrapper, args, st, fact, stdin, cwds);
    return runGeneric(this, name, args, fact, stdin, cwds);
  }

  /** For a glob such as `sort *`: whether the directory may hold a name starting with `-`. */
  mayHoldDashNames(dir: string): boolean {
    return this.c.mayHoldDashNames(dir);
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
    for (const why of v.opaque) this.opaque(fact.text, why);
    if (!v.readOnly) {
      fact.readOnly = false;
      if (v.why) fact.why ??= v.why;
    }
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
