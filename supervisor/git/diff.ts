import { invalid } from '../../machines/app-error.ts';
import type { DiffPool } from './diff-pool.ts';
import { DEFAULT_DIFF_LIMITS, MAX_DIFF_LIMITS, type DiffLimits, type DiffResult } from './diff-types.ts';

/**
 * The job's live diff: everything the agent changed in its worktree —
 * committed, staged, unstaged AND untracked — relative to where the job
 * branched off the base ref.
 *
 * WHY a temporary index: `git diff <base>` alone misses untracked files, and
 * `git add -A` on the real index would change what the agent (or the user in
 * the worktree) has staged. A throwaway GIT_INDEX_FILE seeded with a copy of
 * the real index sees the whole working tree while the real index is only
 * ever read. Seeding with the copy keeps the stat cache, so only changed
 * files are re-hashed.
 *
 * WHY the merge-base: if the base branch moved on after the job started, a
 * diff against the base tip would show the base's new commits as reverted by
 * the agent. The merge-base shows only the job's own changes.
 */
export interface ComputeDiffOptions {
  worktreePath: string;
  /** The job's base ref (branch name or commit). */
  baseRef: string;
  pool: DiffPool;
  limits?: Partial<DiffLimits>;
  signal?: AbortSignal;
}

export async function computeDiff(opts: ComputeDiffOptions): Promise<DiffResult> {
  const limits = normalizeLimits(opts.limits);
  // Every git process (merge-base, the snapshot, the diff itself) runs on the pool thread: spawning
  // forks the process, which on the supervisor's thread would stall every request for its duration.
  const out = await opts.pool.run({ cwd: opts.worktreePath, baseRef: opts.baseRef, limits }, opts.signal);
  if ('error' in out) throw invalid(out.error.code, out.error.message, out.error.field);
  const result: DiffResult = { files: out.files, stats: out.totals, baseCommit: out.baseCommit };
  if (out.truncated) {
    result.truncated = true;
    if (out.nextOffset !== undefined) result.nextOffset = out.nextOffset;
  }
  return result;
}

/** Limits usually come from query parameters: clamp instead of trusting them. */
export function normalizeLimits(l: Partial<DiffLimits> = {}): DiffLimits {
  const int = (v: number | undefined, dflt: number, min: number) => (v === undefined || !Number.isFinite(v) ? dflt : Math.max(min, Math.floor(v)));
  return {
    maxFiles: Math.min(int(l.maxFiles, DEFAULT_DIFF_LIMITS.maxFiles, 1), MAX_DIFF_LIMITS.maxFiles),
    maxBytes: Math.min(int(l.maxBytes, DEFAULT_DIFF_LIMITS.maxBytes, 1024), MAX_DIFF_LIMITS.maxBytes),
    offset: int(l.offset, 0, 0),
  };
}

