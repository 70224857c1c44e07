import type { RefSnapshot } from './ref-snapshot.ts';

/** One difference between the snapshot before a turn and the one after it. */
export type RefChange =
  | { kind: 'created'; ref: string; after: string }
  | { kind: 'moved'; ref: string; before: string; after: string }
  | { kind: 'deleted'; ref: string; before: string };

const fullName = (branch: string): string => (branch.startsWith('refs/') ? branch : `refs/heads/${branch}`);

/**
 * Every ref (and HEAD) that differs between `before` and `after`, except the
 * job's own branch, which its agent is there to move, and the branches of
 * other jobs whose agents worked during the same turn (each moves its own;
 * each is checked by its own job). Pure: the decision of what counts as a
 * breach lives here and nowhere else. Sorted by name so an alarm reads the
 * same every time.
 */
export function compareRefs(before: RefSnapshot, after: RefSnapshot, ownBranch: string | undefined, otherJobsWorking: readonly string[] = []): RefChange[] {
  const excluded = new Set([...(ownBranch === undefined ? [] : [ownBranch]), ...otherJobsWorking].map(fullName));
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  const changes: RefChange[] = [];
  for (const ref of [...names].sort()) {
    if (excluded.has(ref)) continue;
    const b = Object.hasOwn(before, ref) ? before[ref] : undefined;
    const a = Object.hasOwn(after, ref) ? after[ref] : undefined;
    if (b === a) continue;
    if (b === undefined) changes.push({ kind: 'created', ref, after: a! });
    else if (a === undefined) changes.push({ kind: 'deleted', ref, before: b });
    else changes.push({ kind: 'moved', ref, before: b, after: a });
  }
  return changes;
}
