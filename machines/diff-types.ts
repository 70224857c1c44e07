import type { DiffFileStat, DiffStats } from './domain-events.ts';

/**
 * The job diff as served by `GET /api/jobs/:id/diff` (CONTRACT.md), and the
 * messages of the diff pool task. Pure (types and constants), so the piscina
 * task (workers/tasks), its parser and the supervisor share one definition.
 */
export type DiffFileStatus = DiffFileStat['status'];

export interface DiffLine {
  type: 'context' | 'add' | 'del';
  /** The line without its `+`/`-`/` ` prefix and without the newline. */
  text: string;
  oldNo?: number;
  newNo?: number;
}

export interface DiffHunk {
  /** The full `@@ -a,b +c,d @@ section` line. */
  header: string;
  lines: DiffLine[];
}

export interface DiffFile {
  path: string;
  /** Set for renames: the path at the merge-base. */
  oldPath?: string;
  status: DiffFileStatus;
  additions: number;
  deletions: number;
  /** Binary files carry no hunks and zero line counts. */
  binary: boolean;
  hunks: DiffHunk[];
  /** This one file's hunks were cut short by the byte budget. */
  truncated?: boolean;
}

export interface DiffResult {
  files: DiffFile[];
  /**
   * Totals for the WHOLE change, also when `files` is one bounded page of it
   * (then computed from `--numstat`, which is cheap at any size).
   */
  stats: DiffStats;
  /** The commit the diff is taken against (merge-base of the base ref and the job). */
  baseCommit: string;
  /** Present and true when `files` stops before the end of the change. */
  truncated?: boolean;
  /** File index to pass as `offset` to fetch the next page (with `truncated`). */
  nextOffset?: number;
}

export interface DiffLimits {
  /** Max files returned in one page. Default 1,000, at most 10,000. */
  maxFiles: number;
  /** Max bytes of patch text parsed into one page. Default 4 MB, at most 50 MB. */
  maxBytes: number;
  /** Index of the first file to return (files before it are skipped, not parsed). */
  offset: number;
}

/**
 * One page by default: a response a phone can take (the parsed JSON is larger than the patch
 * text), with `nextOffset` for the rest. A caller may ask for more, up to the maxima.
 */
export const DEFAULT_DIFF_LIMITS: DiffLimits = { maxFiles: 1_000, maxBytes: 4 * 1024 * 1024, offset: 0 };
export const MAX_DIFF_LIMITS: Omit<DiffLimits, 'offset'> = { maxFiles: 10_000, maxBytes: 50 * 1024 * 1024 };

/** The `diff_update` event payload / snapshot `diff` summary (no hunks). */
export interface DiffSummary {
  stats: DiffStats;
  files: DiffFileStat[];
}

export function summarizeDiff(d: Pick<DiffResult, 'stats' | 'files'>): DiffSummary {
  return {
    stats: { ...d.stats },
    files: d.files.map((f) => ({ path: f.path, status: f.status, additions: f.additions, deletions: f.deletions })),
  };
}

export const EMPTY_STATS: DiffStats = { files: 0, additions: 0, deletions: 0 };

/** One parsed page of a patch. */
export interface DiffPage {
  files: DiffFile[];
  /** Totals over `files` only (the caller replaces them with whole-change totals when truncated). */
  stats: DiffStats;
  truncated: boolean;
  nextOffset?: number;
}

/** What the supervisor asks the diff pool task (workers/tasks/diff-task.ts) to run. */
export interface DiffTaskInput {
  cwd: string;
  /** `git` arguments producing the patch (the caller owns the exact command). */
  patchArgs: string[];
  /** `git` arguments producing `--numstat -z` for whole-change totals, run only when the page is not the whole change. */
  numstatArgs: string[];
  /** Variables this diff sets itself (GIT_INDEX_FILE); the rest is the hardened environment of machines/git-invocation.ts. */
  env: Record<string, string>;
  limits: DiffLimits;
}

export interface DiffTaskOutput extends DiffPage {
  /** Whole-change totals: from numstat for a partial page, else equal to `stats`. */
  totals: { files: number; additions: number; deletions: number };
  /** The pool thread that did the work (0 would mean the main thread: a wiring bug). */
  threadId: number;
}

/** One git command for a pool thread (see workers/tasks/git-task.ts), run hardened by machines/git-invocation.ts. */
export interface GitTaskInput {
  cwd: string;
  args: string[];
  /** Variables this command sets itself (GIT_INDEX_FILE); never the caller's whole environment. */
  env?: Record<string, string>;
  /** The repository's filter/merge driver names (the driver scan), switched off for this command. */
  driverNames?: string[];
  /** Written to git's stdin (then closed). */
  input?: string;
  /** Killed (SIGKILL) past this; its exit then reads as a failure. */
  timeoutMs: number;
}

export interface GitTaskOutput {
  code: number;
  stdout: string;
  stderr: string;
  /** The pool thread that ran it (0 would mean the main thread: a wiring bug). */
  threadId: number;
}
