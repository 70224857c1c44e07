/**
 * What an awk program or a sed script does, read well enough to tell a
 * filter from a program that runs commands or touches files. Both languages
 * can run commands (`system()`, `print | "cmd"`, `"cmd" | getline`; sed's `e`
 * command and `s///e` flag) and write or read files (`print > f`, `getline <
 * f`; sed's `w`, `W`, `r`, `R`, `s///w`). Anything these scanners do not
 * recognise is `unclear`, which the policy treats like `runs`: what it cannot
 * judge, it does not approve.
 */
export type ScriptClass = 'filters' | 'unclear' | 'files' | 'runs';
export interface ScriptVerdict {
  cls: ScriptClass;
  /** What was found, for the message. */
  what?: string;
}

const RANK: Record<ScriptClass, number> = { filters: 0, unclear: 1, files: 2, runs: 3 };
const worse = (a: ScriptVerdict, b: ScriptVerdict): ScriptVerdict => (RANK[b.cls] > RANK[a.cls] ? b : a);

/** Characters after which a `/` in awk starts a regular expression rather than a division. */
const REGEX_AFTER = new Set(['', '(', ',', '{', '}', ';', '!', '~', '&', '|', '=', '+', '-', '*', '%', '^', '<', '>', '?', ':', '\n']);

export function awkProgram(text: string): ScriptVerdict {
  let v: ScriptVerdict = { cls: 'filters' };
  let prev = '';
  let depth = 0;
  let printDepth = -1; // inside a print/printf statement: the paren depth it started at
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === ' ' || c === '\t') continue;
    if (c === '\\' && text.charAt(i + 1) === '\n') {
      i++;
      continue;
    }
    if (c === '"') {
      i = skipQuoted(text, i, '"');
      prev = '"';
      continue;
    }
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl - 1;
      continue;
    }
    if (c === '/' && (REGEX_AFTER.has(prev) || prev === 'word:print' || prev === 'word:printf')) {
      i = skipRegex(text, i);
      prev = '/';
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))?.[0] ?? c;
      i += word.length - 1;
      if (word === 'system') v = worse(v, { cls: 'runs', what: 'system()' });
      else if (word === 'getline') v = worse(v, { cls: 'unclear', what: 'getline (reads a file or a command)' });
      else if (word === 'print' || word === 'printf') printDepth = depth;
      prev = `word:${word}`;
      continue;
    }
    if (c === '@') v = worse(v, { cls: 'unclear', what: '@ (a gawk directive or indirect call)' });
    else if (c === '|') {
      if (text.charAt(i + 1) === '|') i++;
      else v = worse(v, { cls: 'runs', what: '| (a pipe to or from a command)' });
    } else if (c === '>' && printDepth >= 0 && depth === printDepth) v = worse(v, { cls: 'files', what: 'print > file' });
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ';' || c === '\n' || c === '{' || c === '}') printDepth = -1;
    prev = c;
  }
  return v;
}

function skipQuoted(t: string, i: number, q: string): number {
  for (let j = i + 1; j < t.length; j++) {
    if (t.charAt(j) === '\\') j++;
    else if (t.charAt(j) === q) return j;
  }
  return t.length;
}

function skipRegex(t: string, i: number): number {
  let inClass = false;
  for (let j = i + 1; j < t.length; j++) {
    const c = t.charAt(j);
    if (c === '\\') j++;
    else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) return j;
    else if (c === '\n') return j;
  }
  return t.length;
}

/** sed commands that only select, edit the pattern/hold space, or print. */
const SED_SIMPLE = new Set(['=', 'd', 'D', 'g', 'G', 'h', 'H', 'n', 'N', 'p', 'P', 'x', 'z', 'F', '{', '}']);

export function sedScript(s: string): ScriptVerdict {
  let v: ScriptVerdict = { cls: 'filters' };
  let i = 0;
  const unclear = (what: string): ScriptVerdict => ({ cls: 'unclear', what: `${what} in the sed script` });
  const toEol = (): void => {
    while (i < s.length && s.charAt(i) !== '\n') i++;
  };
  while (i < s.length) {
    while (i < s.length && /[\s;]/.test(s.charAt(i))) i++;
    if (i >= s.length) break;
    if (s.charAt(i) === '#') {
      toEol();
      continue;
    }
    i = sedAddress(s, i);
    if (i < 0) return worse(v, unclear('an address it cannot read'));
    while (s.charAt(i) === ' ' || s.charAt(i) === '!') i++;
    const c = s.charAt(i++);
    if (c === '') return worse(v, unclear('a missing command'));
    if (c === '{') continue; // a block: the next command follows directly
    if (SED_SIMPLE.has(c)) {
      // l, q, Q take an optional number; the rest stand alone.
    } else if (c === 'l' || c === 'q' || c === 'Q' || c === 'L') {
      while (/[0-9 ]/.test(s.charAt(i)) && s.charAt(i) !== '') i++;
    } else if (c === ':' || c === 'b' || c === 't' || c === 'T' || c === 'v') {
      while (i < s.length && !/[;\n]/.test(s.charAt(i))) i++;
    } else if (c === 'a' || c === 'i' || c === 'c') {
      // Text to the end of the line; `a\` continues onto following lines ending in a backslash.
      if (s.charAt(i) === '\\') i++;
      for (;;) {
        if (s.charAt(i) === '\n' && s.charAt(i - 1) !== '\\' && i > 0) break;
        if (i >= s.length) break;
        i++;
      }
    } else if (c === 'y') {
      const d = s.charAt(i);
      if (d === '' || d === '\\' || d === '\n') return worse(v, unclear('a bad y command'));
      i = sedPart(s, sedPart(s, i + 1, d), d);
      if (i < 0) return worse(v, unclear('an unterminated y command'));
    } else if (c === 's') {
      const d = s.charAt(i);
      if (d === '' || d === '\\' || d === '\n') return worse(v, unclear('a bad s command'));
      i = sedPart(s, sedPart(s, i + 1, d), d);
      if (i < 0) return worse(v, unclear('an unterminated s command'));
      for (; i < s.length; i++) {
        const f = s.charAt(i);
        if (/[gpiImM0-9]/.test(f)) continue;
        if (f === 'e') v = worse(v, { cls: 'runs', what: 'the s///e flag (runs the result as a command)' });
        else if (f === 'w') {
          v = worse(v, { cls: 'files', what: 'the s///w flag (writes a file)' });
          toEol();
        } else if (!/[\s;}#]/.test(f)) return worse(v, unclear(`the s flag ${f}`));
        break;
      }
    } else if (c === 'e') {
      v = worse(v, { cls: 'runs', what: 'the e command (runs a command)' });
      toEol();
    } else if (c === 'w' || c === 'W' || c === 'r' || c === 'R') {
      v = worse(v, { cls: 'files', what: `the ${c} command (${c.toLowerCase() === 'w' ? 'writes' : 'reads'} a file)` });
      toEol();
    } else return worse(v, unclear(`the command ${c}`));
    while (s.charAt(i) === ' ' || s.charAt(i) === '\t') i++;
    const after = s.charAt(i);
    if (after !== '' && !/[;\n}#]/.test(after)) return worse(v, unclear(`text after a command (${after})`));
  }
  return v;
}

/** Past one `re` of an s or y command (escapes honoured, newlines allowed); -1 when unterminated. */
function sedPart(s: string, i: number, d: string): number {
  if (i < 0) return -1;
  for (let j = i; j < s.length; j++) {
    if (s.charAt(j) === '\\') j++;
    else if (s.charAt(j) === d) return j + 1;
  }
  return -1;
}

/** Past an optional address or address range; -1 when it cannot be read. */
function sedAddress(s: string, i: number): number {
  const one = (j: number, second: boolean): number => {
    const c = s.charAt(j);
    if (/[0-9]/.test(c)) {
      while (/[0-9~]/.test(s.charAt(j)) && s.charAt(j) !== '') j++;
      return j;
    }
    if (c === '$') return j + 1;
    if (second && (c === '+' || c === '~')) {
      j++;
      while (/[0-9]/.test(s.charAt(j)) && s.charAt(j) !== '') j++;
      return j;
    }
    if (c === '/' || c === '\\') {
      const d = c === '/' ? '/' : s.charAt(j + 1);
      const end = sedPart(s, c === '/' ? j + 1 : j + 2, d);
      if (end < 0) return -1;
      j = end;
      while (/[IM]/.test(s.charAt(j)) && s.charAt(j) !== '') j++;
      return j;
    }
    return second ? -1 : j;
  };
  let j = one(i, false);
  if (j < 0) return -1;
  if (j > i && s.charAt(j) === ',') j = one(j + 1, true);
  return j;
}
