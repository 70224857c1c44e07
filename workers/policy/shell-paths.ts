import { posix } from 'node:path';

/**
 * Worktree containment: where a path really points, and whether that is inside
 * the job's worktree. Pure: the only view of the filesystem is an optional
 * `FsFacts` provider the worker supplies (`fs.realpathSync.native`), so that a
 * symlink that leads out of the worktree counts as outside. Without it the
 * check is lexical (`..`, absolute paths, `~`).
 */
export interface FsFacts {
  /** The canonical path (symlinks resolved) of an existing path; undefined when it does not exist. */
  realpath(path: string): string | undefined;
  /** The names in a directory; undefined when it cannot be listed. */
  entries?(dir: string): readonly string[] | undefined;
}

/** One reason a request cannot be approved automatically: what (as written) and why. */
export interface Finding {
  subject: string;
  why: string;
}

/** Device files every shell command may read or write: never a worktree escape. */
const DEVICES = /^\/dev\/(null|zero|stdin|stdout|stderr|tty|u?random|fd\/\d+)$/;

export function isDevicePath(p: string): boolean {
  return DEVICES.test(p);
}

/**
 * `.git` as a file system may spell it: any case (macOS, Windows), with code points HFS+
 * ignores, with the trailing dots and spaces NTFS drops, or as NTFS's short name `git~1`.
 */
export function isDotGit(component: string): boolean {
  const c = component.replace(/[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g, '').replace(/[. ]+$/, '').toLowerCase();
  return c === '.git' || c === 'git~1';
}

export class Containment {
  /** The worktree as compared against: its realpath when the provider knows it. */
  readonly root: string;
  private readonly fs: FsFacts | undefined;

  constructor(worktree: string, fs?: FsFacts) {
    const lexical = posix.resolve(worktree);
    const real = fs ? safeRealpath(fs, lexical) : undefined;
    // A worktree the provider cannot see: symlink facts would be meaningless, stay lexical.
    this.fs = real !== undefined ? fs : undefined;
    this.root = real ?? lexical;
  }

  /**
   * Resolves `p` against the directory `base` (already canonical) the way the
   * kernel does: component by component, following symlinks as far as the path
   * exists (so `link/../x` goes to the link target's parent), lexically after.
   */
  resolve(base: string, p: string): string {
    return this.walk(base, p, this.fs);
  }

  /** The same walk without symlinks: what the text alone says. */
  resolveLexical(base: string, p: string): string {
    return this.walk(base, p, undefined);
  }

  isInside(abs: string): boolean {
    return abs === this.root || abs.startsWith(this.root === '/' ? '/' : `${this.root}/`);
  }

  /**
   * A path through a `.git` at any depth inside the worktree: the worktree's link to its
   * repository, or a nested repository's config and hooks (which git runs: core.fsmonitor,
   * core.hooksPath). Compared the way case-insensitive filesystems compare names.
   */
  isGitMetadata(abs: string): boolean {
    if (!this.isInside(abs) || abs === this.root) return false;
    const rel = abs.slice(this.root === '/' ? 1 : this.root.length + 1);
    return rel.split('/').some(isDotGit);
  }

  /**
   * Whether a glob in `dir` may expand to a name starting with `-` (which the command would
   * read as an option): true unless the directory can be listed and holds no such name.
   */
  mayHoldDashNames(dir: string): boolean {
    if (!this.fs?.entries) return true;
    try {
      const names: unknown = this.fs.entries(dir);
      return !Array.isArray(names) || names.some((n) => typeof n !== 'string' || n.startsWith('-'));
    } catch {
      return true;
    }
  }

  /**
   * Why `text` (relative to each of `cwds`) is not safely inside, if it is not.
   * `glob`: the text is an unquoted pattern; a component such as `.*` may match `..`
   * (bash before 5.2 does), so it is checked as `..`.
   */
  check(text: string, cwds: readonly string[], opts: { glob?: boolean } = {}): Finding[] {
    const out: Finding[] = [];
    if (text === '' || isDevicePath(text)) return out;
    if (text.startsWith('~')) return [{ subject: text, why: "is in a home directory (~), outside the job's worktree" }];
    const p = opts.glob ? text.split('/').map((c) => (c.startsWith('.') && /[*?[]/.test(c) ? '..' : c)).join('/') : text;
    const bases = text.startsWith('/') ? [this.root] : cwds;
    for (const base of bases) {
      const abs = this.resolve(base, p);
      if (this.isInside(abs)) continue;
      const lexical = this.resolveLexical(base, p);
      const why = this.isInside(lexical)
        ? `leads through a symlink to ${abs}, outside the job's worktree`
        : p !== text
          ? `can match .. and reach ${abs}, outside the job's worktree`
          : abs === text
          ? "is outside the job's worktree"
          : `resolves to ${abs}, outside the job's worktree`;
      out.push({ subject: text, why });
    }
    return out;
  }

  private walk(base: string, p: string, fs: FsFacts | undefined): string {
    let cur = p.startsWith('/') ? '/' : base;
    let exists = fs !== undefined;
    for (const comp of p.split('/')) {
      if (comp === '' || comp === '.') continue;
      if (comp === '..') {
        cur = posix.dirname(cur);
        continue;
      }
      const next = cur === '/' ? `/${comp}` : `${cur}/${comp}`;
      // Only absolute paths reach the provider (a `~` directory must not resolve against the process's cwd).
      const real = exists && fs && next.startsWith('/') ? safeRealpath(fs, next) : undefined;
      if (real === undefined) exists = false; // nothing below a missing component exists either
      cur = real ?? next;
    }
    return cur;
  }
}

/** A provider that throws is treated as "does not exist": the policy itself never throws on I/O. */
function safeRealpath(fs: FsFacts, p: string): string | undefined {
  try {
    const r: unknown = fs.realpath(p);
    return typeof r === 'string' && r.startsWith('/') ? r : undefined; // anything else: as if it did not exist
  } catch {
    return undefined;
  }
}
