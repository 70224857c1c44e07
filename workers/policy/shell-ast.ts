/**
 * The tree shell-words.ts builds from a command line: simple commands (words,
 * assignments, redirections) joined by connectors, with the constructs that
 * hold further commands (subshells, groups, substitutions, case arms,
 * function bodies) kept as nested scripts. Types and small word helpers only.
 */

export type Part =
  | { kind: 'lit'; text: string; quoted: boolean }
  | { kind: 'var'; name: string; quoted: boolean }
  /** An unquoted `~` or `~user` at the start of a word. */
  | { kind: 'tilde'; user: string }
  | { kind: 'sub'; script: Script; how: '$(' | '`' | '<(' | '>(' }
  /** Anything whose value only exists at run time: `${x:-y}`, `$1`, `$@`, `$((…))` (numeric). */
  | { kind: 'dynamic'; text: string; numeric: boolean; scripts: Script[] };

export interface Word {
  parts: Part[];
  /** The source text of the word, for messages. */
  raw: string;
}

export type RedirectOp = '>' | '>>' | '>|' | '&>' | '&>>' | '<' | '<>' | '>&' | '<&' | '<<' | '<<-' | '<<<';

export interface Redirect {
  op: RedirectOp;
  fd?: number;
  /** The file (or fd, or here-string); for a here-document its body as a word. */
  target: Word;
  heredoc?: { delimiter: string; quoted: boolean; body: string };
}

export interface Assignment {
  name: string;
  value: Word;
}

export interface SimpleCommand {
  type: 'simple';
  assigns: Assignment[];
  words: Word[];
  redirects: Redirect[];
}
export interface GroupCommand {
  type: 'group';
  /** `( … )` runs in a subshell (cd inside does not leak); `{ …; }` does not. */
  subshell: boolean;
  body: Script;
  redirects: Redirect[];
}
/** The header of a `for NAME in ITEMS` / `select` loop; the body follows as ordinary commands. */
export interface ForCommand {
  type: 'for';
  name: string;
  /** null: the loop runs over "$@" (unknown). */
  items: Word[] | null;
}
export interface CaseCommand {
  type: 'case';
  subject: Word;
  arms: Script[];
}
export interface FunctionCommand {
  type: 'function';
  name: string;
  body: Command;
}
export type Command = SimpleCommand | GroupCommand | ForCommand | CaseCommand | FunctionCommand;

export type Connector = ';' | '&' | '&&' | '||' | '|' | '|&';
export interface Item {
  command: Command;
  /** The operator after this command (a newline counts as `;`); null after the last one. */
  next: Connector | null;
}
export interface Script {
  items: Item[];
}

export type ParseResult = { ok: true; script: Script } | { ok: false; error: string };

export function litWord(text: string): Word {
  return { parts: [{ kind: 'lit', text, quoted: true }], raw: text };
}

/** The text of a word made only of unquoted literal characters (a keyword or a name), else undefined. */
export function plainText(w: Word): string | undefined {
  if (w.parts.length !== 1) return undefined;
  const p = w.parts[0];
  return p && p.kind === 'lit' && !p.quoted ? p.text : undefined;
}

/** The scripts that run while a word is expanded (`$( )`, backquotes, inside `${…}` and `$((…))`). */
export function scriptsOf(parts: readonly Part[]): Script[] {
  const out: Script[] = [];
  for (const p of parts) {
    if (p.kind === 'sub') out.push(p.script);
    else if (p.kind === 'dynamic') out.push(...p.scripts);
  }
  return out;
}
