import { DEFAULT_DIFF_LIMITS, type DiffFile, type DiffHunk, type DiffLimits, type DiffPage } from '../../machines/diff-types.ts';

/**
 * PURE parser for `git diff -M --no-color --no-ext-diff --full-index
 * --src-prefix=a/ --dst-prefix=b/` output. No I/O: it runs inside the piscina
 * task and in unit tests alike.
 *
 * WHY incremental (push one line at a time) with the limits inside: a 50 MB
 * change must never be held as one string, and the producer must learn the
 * moment a page is full so it can stop (kill) `git diff` instead of reading
 * the rest. Files before `offset` are skipped without building any objects.
 */
const HUNK_RE = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

export class DiffParser {
  private readonly limits: DiffLimits;
  private readonly files: DiffFile[] = [];
  private file: DiffFile | undefined;
  private hunk: DiffHunk | undefined;
  private index = -1; // index of the current file in the whole diff
  private skipping = false;
  private bytes = 0;
  private oldNo = 0;
  private newNo = 0;
  private oldLeft = 0;
  private newLeft = 0;
  private stopped: { nextOffset: number } | undefined;

  constructor(limits: Partial<DiffLimits> = {}) {
    this.limits = { ...DEFAULT_DIFF_LIMITS, ...limits };
  }

  /** Feeds one line (without its `\n`). Returns false once the page is full: stop feeding. */
  push(line: string, byteLength = line.length + 1): boolean {
    if (this.stopped) return false;
    const inHunk = this.hunk !== undefined && (this.oldLeft > 0 || this.newLeft > 0);
    if (!inHunk && line.startsWith('diff --git ')) return this.startFile(line, byteLength);
    if (this.skipping || !this.file) return true;
    if (this.bytes + byteLength > this.limits.maxBytes) return this.overBudget();
    this.bytes += byteLength;
    if (inHunk) this.hunkLine(line);
    else this.headerLine(line);
    return true;
  }

  /** The page parsed so far. */
  finish(): DiffPage {
    this.closeFile();
    const stats = { files: this.files.length, additions: 0, deletions: 0 };
    for (const f of this.files) {
      stats.additions += f.additions;
      stats.deletions += f.deletions;
    }
    return this.stopped
      ? { files: this.files, stats, truncated: true, nextOffset: this.stopped.nextOffset }
      : { files: this.files, stats, truncated: false };
  }

  private startFile(line: string, byteLength: number): boolean {
    this.closeFile();
    this.index += 1;
    this.skipping = this.index < this.limits.offset;
    if (this.skipping) return true;
    const full = this.files.length >= this.limits.maxFiles || (this.files.length > 0 && this.bytes + byteLength > this.limits.maxBytes);
    if (full) {
      this.stopped = { nextOffset: this.index };
      return false;
    }
    this.bytes += byteLength;
    const path = pathFromDiffGit(line.slice('diff --git '.length));
    this.file = { path, status: 'modified', additions: 0, deletions: 0, binary: false, hunks: [] };
    return true;
  }

  /** The budget ran out inside a file: keep it (cut) only when it is the page's first, else it starts the next page. */
  private overBudget(): boolean {
    const file = this.file!;
    if (this.files.length === 0) {
      file.truncated = true;
      this.closeFile();
      this.stopped = { nextOffset: this.index + 1 };
    } else {
      this.file = undefined;
      this.hunk = undefined;
      this.stopped = { nextOffset: this.index };
    }
    return false;
  }

  private headerLine(line: string): void {
    const f = this.file!;
    const m = HUNK_RE.exec(line);
    if (m) {
      this.hunk = { header: line, lines: [] };
      f.hunks.push(this.hunk);
      this.oldNo = Number(m[1]);
      this.newNo = Number(m[3]);
      this.oldLeft = m[2] === undefined ? 1 : Number(m[2]);
      this.newLeft = m[4] === undefined ? 1 : Number(m[4]);
      return;
    }
    if (line.startsWith('new file mode')) f.status = 'added';
    else if (line.startsWith('deleted file mode')) f.status = 'deleted';
    else if (line.startsWith('rename from ')) {
      f.status = 'renamed';
      f.oldPath = unquote(line.slice('rename from '.length));
    } else if (line.startsWith('rename to ')) f.path = unquote(line.slice('rename to '.length));
    else if (line.startsWith('Binary files ') || line === 'GIT binary patch') f.binary = true;
    else if (line.startsWith('--- ') && f.status !== 'renamed') {
      const p = stripPrefix(line.slice(4), 'a/');
      if (p !== undefined && f.status !== 'added') f.path = p;
    } else if (line.startsWith('+++ ')) {
      const p = stripPrefix(line.slice(4), 'b/');
      if (p !== undefined) f.path = p;
    }
  }

  private hunkLine(line: string): void {
    const f = this.file!;
    const lines = this.hunk!.lines;
    const c = line[0];
    if (c === '+') {
      lines.push({ type: 'add', text: line.slice(1), newNo: this.newNo++ });
      f.additions += 1;
      this.newLeft -= 1;
    } else if (c === '-') {
      lines.push({ type: 'del', text: line.slice(1), oldNo: this.oldNo++ });
      f.deletions += 1;
      this.oldLeft -= 1;
    } else if (c === '\\') {
      // "\ No newline at end of file": a marker, not content.
    } else {
      // ' ' prefix, or an empty line when the user set diff.suppressBlankEmpty.
      lines.push({ type: 'context', text: line.slice(1), oldNo: this.oldNo++, newNo: this.newNo++ });
      this.oldLeft -= 1;
      this.newLeft -= 1;
    }
  }

  private closeFile(): void {
    if (this.file && !this.skipping) {
      if (this.file.binary) this.file.hunks = [];
      this.files.push(this.file);
    }
    this.file = undefined;
    this.hunk = undefined;
    this.oldLeft = this.newLeft = 0;
  }
}

/** Parses a whole patch held in memory (tests, small diffs). */
export function parseDiff(text: string, limits: Partial<DiffLimits> = {}): DiffPage {
  const p = new DiffParser(limits);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const l of lines) if (!p.push(l)) break;
  return p.finish();
}

/** `a/x b/x` → `x`. Exact for quoted names and for equal names; renames are fixed by `rename to`. */
function pathFromDiffGit(rest: string): string {
  if (rest.startsWith('"')) {
    const end = quotedEnd(rest);
    const after = rest.slice(end + 1).trimStart();
    return stripPrefix(after, 'b/') ?? stripPrefix(rest.slice(0, end + 1), 'a/') ?? rest;
  }
  if (rest.endsWith('"')) return stripPrefix(rest.slice(rest.lastIndexOf(' "') + 1), 'b/') ?? rest;
  const half = (rest.length - 1) / 2;
  if (Number.isInteger(half) && rest.slice(half + 1).startsWith('b/')) return rest.slice(half + 3);
  const b = rest.lastIndexOf(' b/');
  return b >= 0 ? rest.slice(b + 3) : rest;
}

/** `a/x` → `x`, `/dev/null` → undefined. Git ends names containing a space with a TAB. */
function stripPrefix(raw: string, prefix: string): string | undefined {
  const name = unquote(raw.endsWith('\t') ? raw.slice(0, -1) : raw);
  if (name === '/dev/null') return undefined;
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

function quotedEnd(s: string): number {
  for (let i = 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return s.length - 1;
}

const utf8 = new TextEncoder();
const ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };

/** Undoes git's C-style quoting (`"caf\303\251\tx"`), decoding octal escapes as UTF-8 bytes. */
export function unquote(s: string): string {
  if (s.length < 2 || !s.startsWith('"') || !s.endsWith('"')) return s;
  const bytes: number[] = [];
  const body = s.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const cp = body.codePointAt(i)!;
    if (cp !== 92) {
      bytes.push(...utf8.encode(String.fromCodePoint(cp)));
      if (cp > 0xffff) i++; // the second half of a surrogate pair
      continue;
    }
    const next = body[i + 1] ?? '';
    if (/[0-7]/.test(next)) {
      bytes.push(parseInt(body.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      bytes.push(ESCAPES[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
