/**
 * A small parser for the POSIX/bash command lines agents run, built for the
 * permission policy. It does not execute or expand anything: it turns the text
 * into a tree of simple commands (words, assignments, redirections) joined by
 * connectors, with subshells, brace groups, command substitutions, process
 * substitutions, here-documents, `for`/`case` headers and function bodies
 * kept as nested scripts, so that the policy sees every command the shell
 * would run, including `a && git push` or `echo $(git push)`.
 *
 * Why a parser and not regexes: a hard gate must be found wherever the shell
 * would run it (after `&&`, inside `$( )`), and must NOT be found where the
 * shell would only pass text around (`echo "git push"`, a here-document
 * body). Only quote-aware tokenizing tells those apart.
 *
 * Deliberate simplifications (each errs towards seeing more commands, never
 * fewer): keywords (`if then do while ! …`) are dropped and the commands after
 * them parsed as ordinary commands; `[[ … ]]` is one simple command. Whatever
 * bash itself would reject or keep reading (unterminated quotes, a missing
 * `)`, a trailing `&&`) is a parse error: the policy never auto-approves what
 * it could not read.
 */

import {
  litWord,
  plainText,
  type Assignment,
  type CaseCommand,
  type Command,
  type Connector,
  type ForCommand,
  type FunctionCommand,
  type Item,
  type Part,
  type Redirect,
  type Script,
  type SimpleCommand,
  type Word,
} from './shell-ast.ts';
import { META, ParseError, ShellLexer } from './shell-lexer.ts';

export * from './shell-ast.ts';

export type ParseResult = { ok: true; script: Script } | { ok: false; error: string };

/** Longer input is refused (asked about) rather than parsed: bounded work per request. */
export const MAX_COMMAND_CHARS = 200_000;

export function parseShell(src: string): ParseResult {
  if (src.length > MAX_COMMAND_CHARS) return { ok: false, error: `the command is longer than ${MAX_COMMAND_CHARS} characters` };
  try {
    return { ok: true, script: new Parser(src, 0).parseAll() };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, error: e.message };
    if (e instanceof RangeError) return { ok: false, error: 'the command is nested too deeply' };
    throw e;
  }
}

type End = 'eof' | ')' | '}' | 'case';
const CLOSER: Record<End, string> = { eof: 'end of input', ')': ')', '}': '}', case: 'esac' };
/** Keywords that only introduce the command after them. */
const PREFIX_KEYWORDS = ['if', 'then', 'else', 'elif', 'do', 'while', 'until', '!', 'coproc'];
/** Keywords that close a construct; they stand alone (possibly with redirections). */
const CLOSING_KEYWORDS = ['fi', 'done'];

class Parser extends ShellLexer {
  parseAll(): Script {
    const script = this.parseList('eof');
    this.readHeredocs();
    return script;
  }

  protected parseSubList(): Script {
    return this.parseList(')');
  }

  protected child(text: string): ShellLexer {
    return new Parser(text, this.depth + 1);
  }

  // ---- lists and commands ------------------------------------------------

  private parseList(end: End): Script {
    const items: Item[] = [];
    for (;;) {
      this.skipSpace(true);
      if (this.atEnd()) {
        if (end !== 'eof') throw new ParseError(`missing ${CLOSER[end]}`);
        break;
      }
      const c = this.peek();
      if (c === ')') {
        if (end === ')') break;
        throw new ParseError('unexpected )');
      }
      if (end === '}' && this.atReserved('}')) break;
      if (end === 'case' && (this.startsWith(';;') || this.startsWith(';&') || this.atReserved('esac'))) break;
      if (c === ';' || c === '&' || c === '|') throw new ParseError(`unexpected ${c}`);
      const command = this.parseCommand();
      items.push({ command, next: this.parseConnector(end) });
    }
    const last = items[items.length - 1];
    if (last && (last.next === '&&' || last.next === '||' || last.next === '|' || last.next === '|&'))
      throw new ParseError(`a command is missing after ${last.next}`);
    return { items };
  }

  private parseConnector(end: End): Connector | null {
    this.skipSpace(false);
    const c = this.peek();
    if (c === '\n') {
      this.i++;
      this.readHeredocs();
      return ';';
    }
    for (const op of ['&&', '||', '|&'] as const) {
      if (this.startsWith(op)) {
        this.i += 2;
        return op;
      }
    }
    if (this.startsWith(';;') || this.startsWith(';&')) {
      if (end === 'case') return null;
      throw new ParseError(`unexpected ${this.src.slice(this.i, this.i + 2)}`);
    }
    if (c === '|' || c === ';' || c === '&') {
      this.i++;
      return c;
    }
    return null;
  }

  private parseCommand(): Command {
    for (;;) {
      this.skipSpace(false);
      const kw = PREFIX_KEYWORDS.find((k) => this.atReserved(k));
      if (kw === undefined) break;
      this.i += kw.length;
    }
    const closing = CLOSING_KEYWORDS.find((k) => this.atReserved(k));
    if (closing !== undefined) {
      this.i += closing.length;
      return { type: 'simple', assigns: [], words: [], redirects: this.parseTrailingRedirects() };
    }
    // `(( … ))` is arithmetic when it closes with `))`; otherwise bash reads nested subshells.
    const arith = this.startsWith('((') ? this.readArithmetic(this.i + 2) : null;
    if (arith !== null) {
      const word: Word = { parts: [{ kind: 'lit', text: '((', quoted: false }], raw: '((' };
      const body: Word = { parts: this.dqParts(arith), raw: arith };
      return { type: 'simple', assigns: [], words: [word, body], redirects: this.parseTrailingRedirects() };
    }
    if (this.peek() === '(') {
      this.enter();
      this.i++;
      const body = this.parseList(')');
      this.i++; // the ')'
      this.leave();
      return { type: 'group', subshell: true, body, redirects: this.parseTrailingRedirects() };
    }
    if (this.atReserved('{')) {
      this.enter();
      this.i++;
      const body = this.parseList('}');
      this.i++; // the '}'
      this.leave();
      return { type: 'group', subshell: false, body, redirects: this.parseTrailingRedirects() };
    }
    if (this.atReserved('}')) throw new ParseError('unexpected }');
    if (this.atReserved('for') || this.atReserved('select')) return this.parseFor();
    if (this.atReserved('case')) return this.parseCase();
    if (this.atReserved('function')) return this.parseFunctionKeyword();
    return this.parseSimple();
  }

  private parseTrailingRedirects(): Redirect[] {
    const out: Redirect[] = [];
    for (;;) {
      this.skipSpace(false);
      if (!this.tryRedirect(out)) return out;
    }
  }

  private parseSimple(): Command {
    const cmd: SimpleCommand = { type: 'simple', assigns: [], words: [], redirects: [] };
    let dbracket = false;
    for (;;) {
      this.skipSpace(false);
      if (this.atEnd()) break;
      if (dbracket) {
        // Inside [[ … ]] `< > ( ) && || !` are operators of the test, not shell syntax.
        if (this.atReserved(']]')) {
          this.i += 2;
          cmd.words.push(litWord(']]'));
          dbracket = false;
          continue;
        }
        const op = /[<>()!&|=~]+/y;
        op.lastIndex = this.i;
        const m = op.exec(this.src);
        if (m && '<>()&|'.includes(m[0].charAt(0))) {
          this.i += m[0].length;
          cmd.words.push(litWord(m[0]));
          continue;
        }
      } else if (this.tryRedirect(cmd.redirects)) continue;
      const c = this.peek();
      if (c === '\n' || c === ';' || c === '&' || c === '|' || c === ')') break;
      if (c === '(') {
        const first = cmd.words[0];
        if (cmd.words.length === 1 && cmd.assigns.length === 0 && first && plainText(first) !== undefined) {
          this.i++;
          this.skipSpace(false);
          if (this.peek() !== ')') throw new ParseError('unexpected (');
          this.i++;
          this.skipSpace(true);
          return { type: 'function', name: plainText(first) ?? '', body: this.parseCommand() };
        }
        throw new ParseError('unexpected (');
      }
      const word = this.parseWord();
      if (cmd.words.length === 0) {
        const asg = asAssignment(word);
        if (asg) {
          cmd.assigns.push(asg);
          continue;
        }
        if (plainText(word) === '[[') dbracket = true;
      }
      cmd.words.push(word);
    }
    if (dbracket) throw new ParseError('missing ]]');
    return cmd;
  }

  private parseFor(): ForCommand {
    this.i += this.atReserved('for') ? 3 : 6;
    this.skipSpace(false);
    if (this.startsWith('((')) {
      const header = this.readArithmetic(this.i + 2);
      if (header === null) throw new ParseError('unterminated for ((');
      return { type: 'for', name: '', items: [{ parts: this.dqParts(header), raw: header }] };
    }
    const nameWord = this.parseWord();
    const name = plainText(nameWord);
    if (name === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ParseError(`bad for-loop variable ${nameWord.raw}`);
    this.skipSpace(false);
    if (this.peek() === ';') return { type: 'for', name, items: null };
    this.skipSpace(true);
    if (!this.atReserved('in')) return { type: 'for', name, items: null };
    this.i += 2;
    const items: Word[] = [];
    for (;;) {
      this.skipSpace(false);
      const c = this.peek();
      if (c === '' || c === ';' || c === '\n' || c === '&' || c === '|' || c === ')') break;
      items.push(this.parseWord());
    }
    return { type: 'for', name, items };
  }

  private parseCase(): CaseCommand {
    this.i += 4;
    this.skipSpace(false);
    const subject = this.parseWord();
    this.skipSpace(true);
    if (!this.atReserved('in')) throw new ParseError('missing `in` after case');
    this.i += 2;
    const arms: Script[] = [];
    this.enter();
    for (;;) {
      this.skipSpace(true);
      if (this.atEnd()) throw new ParseError('missing esac');
      if (this.atReserved('esac')) {
        this.i += 4;
        break;
      }
      if (this.peek() === '(') this.i++;
      for (;;) {
        this.skipSpace(false);
        const c = this.peek();
        if (c === ')') {
          this.i++;
          break;
        }
        if (c === '|') {
          this.i++;
          continue;
        }
        if (c === '' || META.has(c)) throw new ParseError('bad case pattern');
        this.parseWord();
      }
      arms.push(this.parseList('case'));
      this.skipSpace(false);
      if (this.startsWith(';;&')) this.i += 3;
      else if (this.startsWith(';;') || this.startsWith(';&')) this.i += 2;
    }
    this.leave();
    return { type: 'case', subject, arms };
  }

  private parseFunctionKeyword(): FunctionCommand {
    this.i += 8;
    this.skipSpace(false);
    const name = plainText(this.parseWord()) ?? '';
    this.skipSpace(false);
    if (this.peek() === '(') {
      this.i++;
      this.skipSpace(false);
      if (this.peek() !== ')') throw new ParseError('unexpected (');
      this.i++;
    }
    this.skipSpace(true);
    return { type: 'function', name, body: this.parseCommand() };
  }
}

function asAssignment(w: Word): Assignment | undefined {
  const first = w.parts[0];
  if (!first || first.kind !== 'lit' || first.quoted) return undefined;
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\+?=/.exec(first.text);
  if (!m) return undefined;
  const rest = first.text.slice(m[0].length);
  const parts: Part[] = [...(rest ? [{ kind: 'lit' as const, text: rest, quoted: false }] : []), ...w.parts.slice(1)];
  return { name: m[1] ?? '', value: { parts, raw: w.raw.slice(m[0].length) } };
}

