import { litWord, scriptsOf, type Part, type Redirect, type RedirectOp, type Script, type Word } from './shell-ast.ts';

/**
 * The word level of the shell parser: quoting (single, double, `$'…'`,
 * backslashes), expansions (`$name`, `${…}`, `$( )`, backquotes, `$((…))`,
 * `<( )`), `~`, redirections and here-documents. Kept apart from the grammar
 * (shell-words.ts), which extends it and supplies the two things a word can
 * contain that need the grammar: a command list up to `)` and a nested parse.
 */
export class ParseError extends Error {}

const MAX_NESTING = 64;
/** Characters that end an unquoted word. */
export const META = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);
const REDIRECT_RE = /(\d+|\{[A-Za-z_][A-Za-z0-9_]*\})?(&>>|&>|>>|>&|>\||<<<|<<-|<<|<>|<&|>|<)/y;
const NAME_RE = /[A-Za-z_][A-Za-z0-9_]*/y;

export abstract class ShellLexer {
  protected i = 0;
  private nesting = 0;
  private pendingHeredocs: Redirect[] = [];

  constructor(
    protected readonly src: string,
    protected readonly depth: number,
  ) {
    if (depth > MAX_NESTING) throw new ParseError('the command is nested too deeply');
  }

  /** Parses a command list up to a `)` (not consumed). */
  protected abstract parseSubList(): Script;
  /** A parser for a separate text (backquote contents, here-document bodies). */
  protected abstract child(text: string): ShellLexer;
  abstract parseAll(): Script;

  // ---- character helpers -------------------------------------------------

  protected peek(offset = 0): string {
    return this.src.charAt(this.i + offset);
  }
  protected atEnd(): boolean {
    return this.i >= this.src.length;
  }
  protected startsWith(s: string): boolean {
    return this.src.startsWith(s, this.i);
  }
  /** `w` as an unquoted word of its own at the cursor (a reserved word). */
  protected atReserved(w: string): boolean {
    if (!this.startsWith(w)) return false;
    const after = this.src.charAt(this.i + w.length);
    return after === '' || META.has(after);
  }
  protected enter(): void {
    if (++this.nesting > MAX_NESTING) throw new ParseError('the command is nested too deeply');
  }
  protected leave(): void {
    this.nesting--;
  }

  /** Blanks, line continuations, comments; newlines too when `newlines` (they then end here-document lines). */
  protected skipSpace(newlines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t') this.i++;
      else if (c === '\\' && this.peek(1) === '\n') this.i += 2;
      else if (c === '#') {
        const nl = this.src.indexOf('\n', this.i);
        this.i = nl < 0 ? this.src.length : nl;
      } else if (newlines && c === '\n') {
        this.i++;
        this.readHeredocs();
      } else return;
    }
  }


  // ---- redirections and here-documents ------------------------------------

  protected tryRedirect(out: Redirect[]): boolean {
    REDIRECT_RE.lastIndex = this.i;
    const m = REDIRECT_RE.exec(this.src);
    if (!m) return false;
    const op = m[2] as RedirectOp;
    const fdText = m[1];
    // `<(cmd)` / `>(cmd)` are process substitutions (words); `&>` takes no fd.
    if ((op === '<' || op === '>') && this.src.charAt(this.i + m[0].length) === '(') return false;
    if (fdText !== undefined && op.startsWith('&')) return false;
    this.i += m[0].length;
    this.skipSpace(false);
    const c = this.peek();
    // `> >(cmd)`: the target is a process substitution, a word.
    const substitution = (c === '<' || c === '>') && this.peek(1) === '(';
    if (c === '' || c === '\n' || (META.has(c) && !substitution)) throw new ParseError(`a file name is missing after ${op}`);
    const target = this.parseWord();
    const r: Redirect = { op, target };
    if (fdText !== undefined && /^\d+$/.test(fdText)) r.fd = Number(fdText);
    if (op === '<<' || op === '<<-') {
      const quoted = target.parts.some((p) => p.kind === 'lit' && p.quoted);
      const delimiter = target.parts.map((p) => (p.kind === 'lit' ? p.text : '')).join('') || target.raw;
      r.heredoc = { delimiter, quoted, body: '' };
      this.pendingHeredocs.push(r);
    }
    out.push(r);
    return true;
  }

  /** Called after a newline: the bodies of the here-documents opened on that line follow it. */
  protected readHeredocs(): void {
    const pending = this.pendingHeredocs;
    this.pendingHeredocs = [];
    for (const r of pending) {
      const doc = r.heredoc;
      if (!doc) continue;
      let body = '';
      while (!this.atEnd()) {
        const nl = this.src.indexOf('\n', this.i);
        const line = this.src.slice(this.i, nl < 0 ? this.src.length : nl);
        this.i = nl < 0 ? this.src.length : nl + 1;
        const cmp = r.op === '<<-' ? line.replace(/^\t+/, '') : line;
        if (cmp === doc.delimiter) break;
        body += `${line}\n`;
      }
      doc.body = body;
      // An unquoted here-document still expands $( ) and backquotes: those commands run.
      r.target = doc.quoted ? litWord(body) : { parts: this.dqParts(body), raw: body };
    }
  }

  // ---- words ---------------------------------------------------------------

  protected parseWord(): Word {
    const start = this.i;
    const parts: Part[] = [];
    const lit = (text: string, quoted: boolean): void => {
      const last = parts[parts.length - 1];
      if (last && last.kind === 'lit' && last.quoted === quoted) last.text += text;
      else parts.push({ kind: 'lit', text, quoted });
    };
    for (;;) {
      const c = this.peek();
      if (c === '') break;
      if ((c === '<' || c === '>') && this.peek(1) === '(') {
        this.enter();
        this.i += 2;
        const script = this.parseSubList();
        this.i++;
        this.leave();
        parts.push({ kind: 'sub', script, how: c === '<' ? '<(' : '>(' });
        continue;
      }
      if (META.has(c)) break;
      if (c === '\\') {
        const n = this.peek(1);
        if (n === '\n') this.i += 2;
        else if (n === '') {
          lit('\\', false);
          this.i++;
        } else {
          lit(n, true);
          this.i += 2;
        }
        continue;
      }
      if (c === "'") {
        const end = this.src.indexOf("'", this.i + 1);
        if (end < 0) throw new ParseError('unterminated single quote');
        lit(this.src.slice(this.i + 1, end), true);
        this.i = end + 1;
        continue;
      }
      if (c === '"') {
        this.i++;
        for (const p of this.readDoubleQuoted(true)) p.kind === 'lit' ? lit(p.text, true) : parts.push(p);
        continue;
      }
      if (c === '`') {
        parts.push(this.readBackquote());
        continue;
      }
      if (c === '$') {
        for (const p of this.readDollar(false)) p.kind === 'lit' ? lit(p.text, p.quoted) : parts.push(p);
        continue;
      }
      if (c === '~' && this.i === start) {
        const m = /~([A-Za-z0-9._-]*)/y;
        m.lastIndex = this.i;
        const r = m.exec(this.src);
        const user = r?.[1] ?? '';
        const after = this.src.charAt(this.i + 1 + user.length);
        if (after === '' || after === '/' || META.has(after)) {
          parts.push({ kind: 'tilde', user });
          this.i += 1 + user.length;
          continue;
        }
      }
      lit(c, false);
      this.i++;
    }
    return { parts, raw: this.src.slice(start, this.i) };
  }

  /** After an opening `"` (or over a whole here-document when `terminated` is false). */
  readDoubleQuoted(terminated: boolean): Part[] {
    const parts: Part[] = [];
    const lit = (text: string): void => {
      const last = parts[parts.length - 1];
      if (last && last.kind === 'lit') last.text += text;
      else parts.push({ kind: 'lit', text, quoted: true });
    };
    for (;;) {
      const c = this.peek();
      if (c === '') {
        if (terminated) throw new ParseError('unterminated double quote');
        return parts;
      }
      if (c === '"' && terminated) {
        this.i++;
        return parts;
      }
      if (c === '\\') {
        const n = this.peek(1);
        if (n === '\n') this.i += 2;
        else if (n !== '' && '$`"\\'.includes(n)) {
          lit(n);
          this.i += 2;
        } else {
          lit('\\');
          this.i++;
        }
        continue;
      }
      if (c === '$') {
        for (const p of this.readDollar(true)) p.kind === 'lit' ? lit(p.text) : parts.push(p);
        continue;
      }
      if (c === '`') {
        parts.push(this.readBackquote());
        continue;
      }
      lit(c);
      this.i++;
    }
  }

  /** The parts of a text read as if double-quoted (here-document bodies, `${…}` and `$((…))` contents). */
  protected dqParts(text: string): Part[] {
    return this.child(text).readDoubleQuoted(false);
  }

  private readDollar(quoted: boolean): Part[] {
    const n = this.peek(1);
    if (n === '(') {
      const start = this.i;
      const content = this.peek(2) === '(' ? this.readArithmetic(this.i + 3) : null;
      if (content !== null)
        return [{ kind: 'dynamic', text: this.src.slice(start, this.i), numeric: true, scripts: scriptsOf(this.dqParts(content)) }];
      this.enter();
      this.i += 2;
      const script = this.parseSubList();
      this.i++;
      this.leave();
      return [{ kind: 'sub', script, how: '$(' }];
    }
    if (n === '{') {
      const end = this.findParamEnd(this.i + 2);
      const content = this.src.slice(this.i + 2, end);
      const text = this.src.slice(this.i, end + 1);
      this.i = end + 1;
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(content)) return [{ kind: 'var', name: content, quoted }];
      return [{ kind: 'dynamic', text, numeric: /^#[A-Za-z_0-9]*$/.test(content), scripts: scriptsOf(this.dqParts(content)) }];
    }
    if (n === "'" && !quoted) {
      this.i += 2;
      return [{ kind: 'lit', text: this.readAnsiC(), quoted: true }];
    }
    if (n === '"' && !quoted) {
      this.i += 2;
      return this.readDoubleQuoted(true);
    }
    NAME_RE.lastIndex = this.i + 1;
    const name = NAME_RE.exec(this.src);
    if (name) {
      this.i += 1 + name[0].length;
      return [{ kind: 'var', name: name[0], quoted }];
    }
    if (n !== '' && '?#$!-'.includes(n)) {
      this.i += 2;
      return [{ kind: 'dynamic', text: `$${n}`, numeric: true, scripts: [] }];
    }
    if (n !== '' && '0123456789@*'.includes(n)) {
      this.i += 2;
      return [{ kind: 'dynamic', text: `$${n}`, numeric: false, scripts: [] }];
    }
    this.i++;
    return [{ kind: 'lit', text: '$', quoted }];
  }

  /** `$'…'`: backslash escapes decoded, no expansion. */
  private readAnsiC(): string {
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === '') throw new ParseError("unterminated $'…' quote");
      if (c === "'") {
        this.i++;
        return out;
      }
      if (c !== '\\') {
        out += c;
        this.i++;
        continue;
      }
      const n = this.peek(1);
      const mapped = simple[n];
      if (mapped !== undefined) {
        out += mapped;
        this.i += 2;
        continue;
      }
      const hex = /x([0-9A-Fa-f]{1,2})|([0-7]{1,3})/y;
      hex.lastIndex = this.i + 1;
      const m = hex.exec(this.src);
      if (m) {
        out += String.fromCharCode(m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2] ?? '0', 8));
        this.i += 1 + m[0].length;
        continue;
      }
      out += `\\${n}`;
      this.i += n === '' ? 1 : 2;
    }
  }

  /** The index of the `}` closing a `${` whose content starts at `j`. */
  private findParamEnd(j: number): number {
    let depth = 1;
    for (;;) {
      const c = this.src.charAt(j);
      if (c === '') throw new ParseError('unterminated ${');
      if (c === '\\') j += 2;
      else if (c === "'") {
        const e = this.src.indexOf("'", j + 1);
        if (e < 0) throw new ParseError('unterminated single quote');
        j = e + 1;
      } else if (c === '$' && this.src.charAt(j + 1) === '{') {
        depth++;
        j += 2;
      } else if (c === '}') {
        if (--depth === 0) return j;
        j++;
      } else j++;
    }
  }

  /**
   * From `j` (just after `((` or `$((`) to the closing `))`: moves the cursor past it and returns
   * the content, or returns null (cursor unchanged) when the parentheses do not close as `))`.
   */
  protected readArithmetic(j: number): string | null {
    let depth = 0;
    const start = j;
    for (;;) {
      const c = this.src.charAt(j);
      if (c === '') return null;
      if (c === '(') depth++;
      else if (c === ')') {
        if (depth === 0) {
          if (this.src.charAt(j + 1) !== ')') return null;
          this.i = j + 2;
          return this.src.slice(start, j);
        }
        depth--;
      }
      j++;
    }
  }

  private readBackquote(): Part {
    let j = this.i + 1;
    let inner = '';
    for (;;) {
      const c = this.src.charAt(j);
      if (c === '') throw new ParseError('unterminated backquote');
      if (c === '`') break;
      if (c === '\\') {
        const n = this.src.charAt(j + 1);
        if (n !== '' && '$`\\'.includes(n)) {
          inner += n;
          j += 2;
          continue;
        }
      }
      inner += c;
      j++;
    }
    this.i = j + 1;
    return { kind: 'sub', script: this.child(inner).parseAll(), how: '`' };
  }
}
