import { ARITH_TESTS, arithmeticRisk } from './shell-arith.ts';
import { quoteWord, type Arg } from './shell-commands.ts';
import { IDENTIFIER, assignmentWhy, harmlessSetting, shellLocalName } from './shell-env.ts';
import { cloneState, type Cwd, type ShellState, type VarValue } from './shell-expand.ts';
import { optionSpec, walkOptions } from './shell-options.ts';
import { unsafeShellOption, type Fact, type Runner, type Stdin } from './shell-runners.ts';

/**
 * Shell builtins that change the shell rather than the files: variables and
 * what they export, options, aliases, traps, the command hash, arithmetic.
 * They are read-only themselves; what matters is what they make the commands
 * after them do (in this line, or in a later command of the same shell: some
 * agents keep one shell for a whole session).
 */
/**
 * Records a variable the line sets. Plain shell variables are its own; anything that reaches the
 * environment of later programs (exported, or a name the shell may have inherited) is not judged,
 * except the harmless allow-list (shell-env.ts).
 */
export function assignVariable(w: Runner, name: string, value: VarValue, exported: boolean, st: ShellState, fact: Fact): void {
  if (!IDENTIFIER.test(name)) {
    w.opaque(fact.text, `assigns to ${name}, a name bash evaluates (a subscript runs the command substitutions it holds)`);
    return;
  }
  st.vars.set(name, value);
  const arg: Arg = 'text' in value ? { text: value.text, glob: false } : { text: `$${name}`, unknown: value.unknown, glob: false };
  if (harmlessSetting(name, arg) || (!exported && shellLocalName(name))) return;
  w.opaque(
    fact.text,
    exported
      ? assignmentWhy(name, 'every program run after it')
      : `${assignmentWhy(name, 'the programs run after it')} (a variable the shell inherited is exported, in this command and in later ones of the same shell)`,
  );
}

const READ_OPTS = optionSpec('-r -s -e -a= -d= -i= -n= -N= -p= -t= -u=');
const DECLARE_FLAGS = new Set(['a', 'A', 'r', 'g', 'l', 'u', 'c', 't', 'f', 'F', 'p', 'I', 'x', 'n', 'i']);
/** Builtins that only print or set the exit status. */
const INERT = new Set(['echo', 'true', 'false', ':', 'exit', 'return', 'shift', 'jobs', 'help', 'unalias', 'times', 'test', '[', 'wait', 'logout', 'dirs', 'caller']);

/** Handles `name` if it is one of these builtins; undefined otherwise (the walker goes on). */
export function runBuiltin(w: Runner, name: string, args: Arg[], st: ShellState, fact: Fact, _stdin: Stdin, _cwds: Cwd[]): boolean | undefined {
  const arith = (text: string): void => {
    const why = arithmeticRisk(text, st.vars);
    if (why) w.opaque(fact.text, why);
  };
  if (INERT.has(name)) return false;
  switch (name) {
    case 'printf': {
      const v = args.findIndex((a) => a.text === '-v');
      const target = v >= 0 ? args[v + 1] : undefined;
      if (target) assignVariable(w, target.unknown ? '(unknown)' : target.text, { unknown: 'printf -v' }, false, st, fact);
      return false;
    }
    case '[[':
      if (args.some((a) => ARITH_TESTS.has(a.text))) for (const a of args) arith(a.text);
      return false;
    case '((':
    case 'let':
      for (const a of args) arith(a.text);
      return false;
    case 'set':
      for (let i = 0; i < args.length; i++) {
        const t = args[i]?.text ?? '';
        if (t === '--' || t === '-' || !/^[-+]/.test(t)) break;
        const value = t === '-o' || t === '+o' ? args[++i]?.text : undefined;
        const bad = unsafeShellOption(t, value);
        if (bad) w.opaque(fact.text, `changes how the shell runs the commands after it (set ${bad}: -a exports every variable, -k passes NAME=value arguments as environment)`);
      }
      return false;
    case 'export':
    case 'declare':
    case 'typeset':
    case 'local':
    case 'readonly': {
      let exported = name === 'export';
      for (const a of args) {
        const t = a.text;
        if (a.unknown) {
          w.opaque(fact.text, `${name} is given ${a.text}, only known when it runs`);
          continue;
        }
        if (/^[-+][A-Za-z]+$/.test(t)) {
          const flags = [...t.slice(1)];
          if (name === 'export') {
            if (flags.some((f) => f !== 'p' && f !== 'n')) w.opaque(fact.text, `export ${t} exports functions or options the policy does not judge`);
            continue;
          }
          if (flags.includes('x') && t.startsWith('-')) exported = true;
          const bad = flags.find((f) => !DECLARE_FLAGS.has(f));
          if (bad !== undefined) w.opaque(fact.text, `${name} -${bad} is an option the policy does not know`);
          if (flags.includes('n')) w.opaque(fact.text, `${name} -n makes a name refer to another variable (PATH, IFS…), which the policy cannot follow`);
          if (flags.includes('i')) w.opaque(fact.text, `${name} -i evaluates every value given to the variable as arithmetic, which runs the command substitutions it holds`);
          continue;
        }
        const eq = t.indexOf('=');
        const key = eq < 0 ? t : t.slice(0, eq).replace(/\+$/, '');
        if (eq < 0 && !exported) continue; // `local x`: declares, sets nothing
        assignVariable(w, key, eq < 0 ? (st.vars.get(key) ?? { text: '' }) : { text: t.slice(eq + 1) }, exported, st, fact);
      }
      return false;
    }
    case 'read':
    case 'mapfile':
    case 'readarray': {
      const o = walkOptions(READ_OPTS, args);
      const names = [...o.values.filter((v) => v.opt === '-a').map((v) => v.value), ...(name === 'read' ? o.operands : o.operands.slice(0, 1))];
      for (const n of names) assignVariable(w, n.unknown ? '(unknown)' : n.text, { unknown: `$${n.text}, read at run time` }, false, st, fact);
      if (name !== 'read') fact.readOnly = false;
      return false;
    }
    case 'unset':
      for (const a of args) if (!a.text.startsWith('-')) st.vars.set(a.text, { unknown: `$${a.text}` });
      return false;
    case 'alias':
      for (const a of args) {
        const eq = a.text.indexOf('=');
        if (eq <= 0) continue;
        const value: Arg = a.unknown ? a : { text: a.text.slice(eq + 1), glob: false };
        w.nested(value, cloneState(st), fact); // judged where defined, too
        if (value.unknown) st.aliases.delete(a.text.slice(0, eq));
        else st.aliases.set(a.text.slice(0, eq), value.text);
      }
      return false;
    case 'trap': {
      // trap 'commands' SIGNAL…: the commands run later, in this shell.
      const first = args[0];
      if (first && args.length >= 2 && (first.unknown || !first.text.startsWith('-'))) w.nested(first, cloneState(st), fact);
      return false;
    }
    case 'hash':
      if (args.some((a) => a.unknown || /^-[a-z]*p/.test(a.text))) w.opaque(fact.text, 'makes a command name run another program (hash -p)');
      return false;
    case 'enable':
      if (args.some((a) => a.unknown || /^-[a-z]*f/.test(a.text))) w.opaque(fact.text, 'loads a builtin from a shared library (enable -f)');
      fact.readOnly = false;
      return false;
  }
  return undefined;
}

/** Re-quotes the arguments of an alias use so that the expanded line parses like the original. */
export function aliasArgs(args: readonly Arg[]): Arg[] {
  return args.map((a) => (a.unknown ? a : { ...a, text: quoteWord(a.text) }));
}
