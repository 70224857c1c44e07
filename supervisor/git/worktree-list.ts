import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { runGit } from './git-exec.ts';

/**
 * One entry of `git worktree list --porcelain`. Merge, discard and hygiene all
 * need to know "where is branch X checked out?" — asking git (rather than
 * guessing from directories) is the only answer that includes the user's own
 * extra worktrees.
 */
export interface WorktreeEntry {
  path: string;
  head?: string;
  /** Short branch name (`main`), absent when detached or bare. */
  branch?: string;
  bare: boolean;
  detached: boolean;
  locked: boolean;
  prunable: boolean;
  /** The first entry git lists is the main working tree (the user's repo). */
  main: boolean;
}

export function parseWorktreeList(porcelain: string): WorktreeEntry[] {
  const out: WorktreeEntry[] = [];
  // -z: attributes end with NUL, entries end with an empty attribute.
  let cur: WorktreeEntry | undefined;
  for (const field of porcelain.split('\0')) {
    if (field === '') {
      if (cur) out.push(cur);
      cur = undefined;
      continue;
    }
    const sp = field.indexOf(' ');
    const key = sp < 0 ? field : field.slice(0, sp);
    const value = sp < 0 ? '' : field.slice(sp + 1);
    if (key === 'worktree') {
      if (cur) out.push(cur);
      cur = { path: value, bare: false, detached: false, locked: false, prunable: false, main: false };
      continue;
    }
    if (!cur) continue;
    if (key === 'HEAD') cur.head = value;
    else if (key === 'branch') cur.branch = value.replace(/^refs\/heads\//, '');
    else if (key === 'bare') cur.bare = true;
    else if (key === 'detached') cur.detached = true;
    else if (key === 'locked') cur.locked = true;
    else if (key === 'prunable') cur.prunable = true;
  }
  if (cur) out.push(cur);
  out.forEach((e, i) => (e.main = i === 0));
  return out;
}

export async function listWorktrees(repoPath: string): Promise<WorktreeEntry[]> {
  const r = await runGit(repoPath, ['worktree', 'list', '--porcelain', '-z']);
  return parseWorktreeList(r.stdout);
}

/** The worktree that has `branch` checked out, if any. */
export async function findBranchCheckout(repoPath: string, branch: string): Promise<WorktreeEntry | undefined> {
  const short = shortBranch(branch);
  return (await listWorktrees(repoPath)).find((w) => w.branch === short);
}

/** `refs/heads/x` → `x`; other names unchanged. */
export const shortBranch = (ref: string): string => ref.replace(/^refs\/heads\//, '');

/**
 * Canonical path for comparisons: git reports real paths, callers may hold a
 * symlinked one (macOS /var → /private/var). Missing paths resolve lexically.
 */
export async function canonicalPath(p: string): Promise<string> {
  return realpath(p).catch(() => resolve(p));
}

export async function samePath(a: string, b: string): Promise<boolean> {
  return (await canonicalPath(a)) === (await canonicalPath(b));
}
