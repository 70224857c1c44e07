import { mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { RefPlaces, RefSnapshot } from './ref-snapshot.ts';

/** The refs as they were when a turn started, and where to find them. */
export interface Baseline {
  jobId: string;
  branch: string;
  /** Branches of other jobs of the repository whose turns overlapped this one (compareRefs). */
  othersWorking: string[];
  places: RefPlaces;
  snapshot: RefSnapshot;
  /** packed-refs as it was ('' when absent; absent when too large to keep): see packed-refs.ts. */
  packedRefs?: string;
}

/**
 * Baselines are written to the job's data directory before the turn starts.
 * WHY on disk: a worker outlives a server restart (`cpl restart`), so a turn
 * can start under one supervisor and end under the next; the next one must
 * still compare against the refs as they were before that turn.
 */
const FILE = 'ref-baseline.json';

export function saveBaseline(jobDir: string, b: Baseline): void {
  mkdirSync(jobDir, { recursive: true });
  const tmp = join(jobDir, `${FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(b));
  renameSync(tmp, join(jobDir, FILE));
}

export function loadBaseline(jobDir: string): Baseline | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(jobDir, FILE), 'utf8'));
  } catch {
    return undefined;
  }
  return isBaseline(raw) ? raw : undefined;
}

export function dropBaseline(jobDir: string): void {
  rmSync(join(jobDir, FILE), { force: true });
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isRec = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Decodes a stored baseline; anything malformed counts as none. */
function isBaseline(v: unknown): v is Baseline {
  if (!isRec(v) || !isStr(v['jobId']) || !isStr(v['branch']) || !isRec(v['places']) || !isRec(v['snapshot'])) return false;
  if (!Array.isArray(v['othersWorking']) || !v['othersWorking'].every(isStr)) return false;
  if (v['packedRefs'] !== undefined && !isStr(v['packedRefs'])) return false;
  const p = v['places'];
  if (!['repoPath', 'worktreePath', 'repoGitDir', 'worktreeGitDir', 'commonDir'].every((k) => isStr(p[k]))) return false;
  return Object.values(v['snapshot']).every(isStr);
}
