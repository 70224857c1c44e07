import type { Arg } from './shell-commands.ts';
import type { Stdin } from './shell-runners.ts';

/**
 * Interpreters given code on the command line (`node -e`, `python -c`,
 * `perl -ne`…) or on their input (`python3 <<EOF`): the policy reads shell,
 * not JavaScript or Python, so it cannot judge that code. It asks in every
 * mode (denied in observe_only). A script FILE is different: it is part of
 * the worktree, and so of the reviewed diff; running one is an ordinary
 * (not read-only) command.
 */
interface Interpreter {
  /** Short options whose value is code (`-e`); a cluster such as `-ne` counts. */
  codeShorts: string;
  /** Long options whose value is code (`--eval`). */
  codeLongs: readonly string[];
  /** Short options taking a value that is not code (so their value is not the script). */
  valueShorts: string;
  /** Options whose value is a module to load: a `data:` URL there is code. */
  moduleOpts?: readonly string[];
  /** Subcommands whose arguments are code (`deno eval`). */
  codeSubs?: readonly string[];
  /** Options after which the rest of the line belongs to the program (`python -m mod`). */
  stopShorts?: string;
  /** Every operand after the first is code (sqlite3 DB SQL…). */
  operandsAreCode?: boolean;
  /** It does not read a program from stdin when none is named (make reads its makefile). */
  noStdinProgram?: boolean;
}

const JS: Interpreter = { codeShorts: 'ep', codeLongs: ['eval', 'print'], valueShorts: 'rC', moduleOpts: ['require', 'import', 'loader', 'experimental-loader', 'r'] };
const PY: Interpreter = { codeShorts: 'c', codeLongs: [], valueShorts: 'WX', stopShorts: 'm' };
const NON_POSIX_SHELL: Interpreter = { codeShorts: 'c', codeLongs: ['command'], valueShorts: '' };

const BY_NAME: Record<string, Interpreter> = {
  node: JS,
  nodejs: JS,
  bun: JS,
  tsx: JS,
  'ts-node': JS,
  deno: { codeShorts: '', codeLongs: ['eval'], valueShorts: '', codeSubs: ['eval'], noStdinProgram: true },
  python: PY,
  pypy: PY,
  perl: { codeShorts: 'eEMm', codeLongs: [], valueShorts: 'Iilx0dD' },
  ruby: { codeShorts: 'e', codeLongs: [], valueShorts: 'rICFEWx0' },
  php: { codeShorts: 'rBREd', codeLongs: ['run'], valueShorts: 'fcz' },
  lua: { codeShorts: 'e', codeLongs: [], valueShorts: 'l' },
  luajit: { codeShorts: 'e', codeLongs: [], valueShorts: 'lj' },
  rscript: { codeShorts: 'e', codeLongs: [], valueShorts: '' },
  r: { codeShorts: 'e', codeLongs: [], valueShorts: '' },
  osascript: { codeShorts: 'e', codeLongs: [], valueShorts: 'ls' },
  expect: { codeShorts: 'c', codeLongs: [], valueShorts: 'f' },
  tclsh: { codeShorts: '', codeLongs: [], valueShorts: '' },
  wish: { codeShorts: '', codeLongs: [], valueShorts: '' },
  make: { codeShorts: 'E', codeLongs: ['eval'], valueShorts: 'CfIjlOoW', noStdinProgram: true },
  gdb: { codeShorts: '', codeLongs: ['eval-command', 'init-eval-command', 'ex', 'iex'], valueShorts: 'xp', noStdinProgram: true },
  emacs: { codeShorts: '', codeLongs: ['eval', 'execute'], valueShorts: 'lL', noStdinProgram: true },
  sqlite3: { codeShorts: '', codeLongs: ['cmd'], valueShorts: '', operandsAreCode: true },
  fish: NON_POSIX_SHELL,
  csh: NON_POSIX_SHELL,
  tcsh: NON_POSIX_SHELL,
  nu: NON_POSIX_SHELL,
  xonsh: NON_POSIX_SHELL,
  elvish: NON_POSIX_SHELL,
  pwsh: NON_POSIX_SHELL,
  powershell: NON_POSIX_SHELL,
};
/** vi-family editors run Ex commands (`:!cmd`) given as `-c cmd`, `--cmd cmd` or `+cmd`. */
const VI = new Set(['vi', 'vim', 'nvim', 'ex', 'view', 'vimdiff', 'gvim', 'rvim']);

/** The interpreter's table entry: version suffixes fold (`python3.12` → python). */
export function interpreterOf(name: string): Interpreter | undefined {
  const lower = name.toLowerCase();
  const base = lower.replace(/^(python|pypy|perl|ruby|php|lua|node)[\d.]*$/, '$1');
  return BY_NAME[base];
}

export function isVi(name: string): boolean {
  return VI.has(name);
}

/**
 * Why running `name args` executes code the policy cannot read, if it does.
 * `stdin` matters when no script is named: the interpreter then reads its program from it.
 */
export function inlineCode(name: string, args: readonly Arg[], stdin: Stdin): string | undefined {
  if (VI.has(name)) {
    const c = args.find((a) => a.unknown || a.text.startsWith('+') || a.text === '-c' || a.text === '--cmd');
    return c ? `runs editor commands given inline (${name} ${c.text})` : undefined;
  }
  const spec = interpreterOf(name);
  if (!spec) return undefined;
  const code = (what: string): string => `runs inline code (${name} ${what}), which the policy cannot judge`;
  const isPwsh = name === 'pwsh' || name === 'powershell';
  let operands = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a) continue;
    const t = a.text;
    if (a.unknown) return code(`with ${a.unknown}`); // an option only known at run time may be -e
    if (spec.codeSubs && operands === 0 && spec.codeSubs.includes(t)) return code(t);
    if (t === '-') return stdinCode(name, stdin);
    if (t === '--' || !t.startsWith('-') || t.length === 1) {
      operands++;
      if (spec.operandsAreCode && operands >= 2) return code('with SQL and dot-commands');
      if (!spec.operandsAreCode) return undefined; // the script file: the rest are its arguments
      continue;
    }
    if (t.startsWith('--') || isPwsh || name === 'gdb' || name === 'emacs' || name === 'sqlite3') {
      // Long options (one dash for pwsh, gdb, emacs and sqlite3's `-cmd`).
      const eq = t.indexOf('=');
      const opt = t.replace(/^--?/, '').slice(0, eq < 0 ? undefined : eq - (t.startsWith('--') ? 2 : 1)).toLowerCase();
      if (spec.codeLongs.includes(opt) || (isPwsh && ['c', 'command', 'e', 'ec', 'encodedcommand'].includes(opt))) return code(t);
      if (spec.moduleOpts?.includes(opt)) {
        const v = eq >= 0 ? t.slice(eq + 1) : args[++i]?.text;
        if (v === undefined || /^data:/i.test(v)) return code(`${t} data:…`);
        continue;
      }
      if (eq < 0 && args[i + 1] && !args[i + 1]?.text.startsWith('-')) {
        // An option we do not know may take the next word as its value: look past it rather than stop.
        const after = inlineCode(name, args.slice(i + 2), stdin);
        if (after) return after;
      }
      continue;
    }
    // A short cluster: `-ne 'code'`, `-Ic 'code'`, `-r ./x` (value), `-i.bak` (attached value).
    for (let k = 1; k < t.length; k++) {
      const c = t.charAt(k);
      if (spec.codeShorts.includes(c)) return code(t);
      if (spec.stopShorts?.includes(c)) return undefined; // `python -m module …`
      if (spec.valueShorts.includes(c)) {
        const v = k + 1 < t.length ? t.slice(k + 1) : args[++i]?.text;
        if (spec.moduleOpts?.includes(c) && (v === undefined || /^data:/i.test(v))) return code(`-${c} data:…`);
        break;
      }
    }
  }
  if (operands > (spec.operandsAreCode ? 1 : 0) || spec.noStdinProgram) return undefined;
  return stdinCode(name, stdin);
}

/** No script named: the program is what arrives on stdin. */
function stdinCode(name: string, stdin: Stdin): string | undefined {
  if (stdin.kind === 'text' || stdin.kind === 'pipe') return `runs a program read from its input (${name}), which the policy cannot judge`;
  return undefined;
}
