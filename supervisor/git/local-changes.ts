import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { runGit, splitZ } from './git-exec.ts';

/**
 * "Would bringing the user's checkout from `from` to `to` touch anything they
 * have not committed?" — asked BEFORE we move their branch, so the answer is
 * a clean refusal naming the files instead of a half-updated working tree.
 *
 * WHY we check ignored files too: git's fast-forward refuses to overwrite
 * modified and untracked files, but treats IGNORED files as expendable and
 * silently replaces them. A job that starts tracking `.env` would destroy the
 * user's local `.env`. So any path the merge ADDS that already exists on disk
 * (untracked or ignored), or whose parent is a file there, counts as overlap.
 */
export interface LocalChanges {
  /** Modified, staged, deleted, renamed (both names), conflicted and untracked paths. */
  paths: string[];
}

/** Uncommitted paths in `worktreePath`, read without taking the index lock or refreshing the index. */
export async function localChanges(worktreePath: string): Promise<LocalChanges> {
  const r = await runGit(worktreePath, ['--no-optional-locks', 'status', '--porcelain=v1', '-z', '--untracked-files=all', '--ignore-submodules=none']);
  const fields = r.stdout.split('\0');
  const paths: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.length < 4) continue;
    paths.push(f.slice(3));
    // `R`/`C` entries are followed by the original path as its own field.
    if (f[0] === 'R' || f[0] === 'C') {
      const orig = fields[++i];
      if (orig) paths.push(orig);
    }
  }
  return { paths };
}

/** Sorted list of user paths the move from `from` to `to` would touch; empty when it is safe. */
export async function overlappingLocalChanges(worktreePath: string, from: string, to: string): Promise<string[]> {
  const diff = (filter?: string) =>
    runGit(worktreePath, ['diff', '--name-only', '-z', '--no-renames', ...(filter ? [`--diff-filter=${filter}`] : []), from, to, '--']).then((r) => splitZ(r.stdout));
  const [changed, added, local] = await Promise.all([diff(), diff('A'), localChanges(worktreePath)]);
  const changedSet = new Set(changed);
  const hits = new Set(local.paths.filter((p) => changedSet.has(p) || changedSet.has(p.replace(/\/$/, ''))));
  for (const p of added) if (await occupiedOnDisk(worktreePath, p)) hits.add(p);
  return [...hits].sort();
}

/** The path, or one of its parents as a non-directory, already exists. */
async function occupiedOnDisk(root: string, rel: string): Promise<boolean> {
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const st = await lstat(join(root, ...parts.slice(0, i))).catch(() => undefined);
    if (!st) return false;
    if (i === parts.length || !st.isDirectory()) return true;
  }
  return false;
}
