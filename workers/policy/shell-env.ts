import type { Arg } from './shell-commands.ts';

/**
 * Environment variables set on a command line. A variable can make a program
 * run another one or load code (GIT_EXTERNAL_DIFF, GIT_SSH_COMMAND, LD_PRELOAD,
 * BASH_ENV, PAGER, NODE_OPTIONS, PYTHONSTARTUP, LESSOPEN, PATH…), and there is
 * no end to that list, so the policy does not keep one: it asks about every
 * variable except a short allow-list of variables known to name neither a
 * program nor a file, with a plain value (no `/`, no spaces, no `$`).
 *
 * Plain shell variables (`f=x; cat "$f"`) are not the environment unless the
 * shell inherited a variable of that name, which it then exports. Variables
 * that programs read from the environment are upper case by convention; the
 * lower-case exceptions in use (the proxy variables, npm's `npm_config_*`)
 * and zsh's lower-case special parameters (`path` is PATH) are excluded, so a
 * lower-case name counts as the shell's own.
 */
const HARMLESS = new Set([
  'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'LC_COLLATE', 'LC_MESSAGES', 'LC_NUMERIC', 'LC_TIME', 'LC_MONETARY', 'TZ',
  'NO_COLOR', 'FORCE_COLOR', 'CLICOLOR', 'CLICOLOR_FORCE', 'COLUMNS', 'LINES', 'TERM', 'NODE_ENV', 'CI',
]);
const PLAIN_VALUE = /^[A-Za-z0-9_.,:@%*+=-]*$/;
/** zsh parameters with lower-case names that change how it runs commands. */
const ZSH_SPECIAL = new Set(['path', 'cdpath', 'fpath', 'manpath', 'mailpath', 'module_path', 'fignore', 'psvar', 'watch', 'histchars', 'prompt', 'options', 'commands', 'functions', 'aliases', 'galiases', 'saliases', 'builtins', 'parameters', 'modules', 'nameddirs', 'userdirs', 'signals', 'argv']);

/** A variable whose setting is known to change nothing a program runs or reads. */
export function harmlessSetting(name: string, value: Arg | undefined): boolean {
  if (!HARMLESS.has(name)) return false;
  if (!value) return true; // `export LANG`: exports what is already there
  if (value.unknown) return false;
  const v = value.text;
  if (v.includes('..')) return false;
  // TZ names a zone file under the system's zoneinfo (`Europe/Paris`); an absolute one is any file.
  if (name === 'TZ') return /^:?[A-Za-z0-9_.+,/-]*$/.test(v) && !/^:?\//.test(v);
  return PLAIN_VALUE.test(v);
}

/** A name that is the shell's own variable rather than part of the environment programs read. */
export function shellLocalName(name: string): boolean {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !ZSH_SPECIAL.has(name) && !name.includes('proxy') && !/^(npm|pnpm|yarn|bun)_/.test(name);
}

export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function assignmentWhy(name: string, target: string): string {
  return `sets ${name} for ${target}; a variable can make a program run another one (GIT_EXTERNAL_DIFF, LD_PRELOAD, PAGER…), and the policy cannot judge ${name}`;
}
