/**
 * The git side of a job diff, run on a diff pool thread (workers/tasks/diff-task.ts):
 * the merge-base to diff from, and a snapshot of the whole working tree in a
 * throwaway index (see computeDiff in diff.ts for why).
 */
import { copyFile, rm, stat, utimes } from 'node:fs/promises';
import { invalid } from '../../machines/app-error.ts';
import { runGit, revParse } from './git-exec.ts';

/** Flags that make the output parseable whatever the user's git config says. */
export const DIFF_FLAGS = [
  '-c', 'core.quotePath=false',
  '-c', 'diff.suppressBlankEmpty=false',
  'diff', '--cached', '-M', '--no-color', '--no-ext-diff', '--no-textconv', '--full-index', '--no-relative',
  '--src-prefix=a/', '--dst-prefix=b/',
];

/** merge-base(baseRef, HEAD); the base commit itself when histories are unrelated. */
export async function diffBase(worktreePath: string, baseRef: string): Promise<string> {
  if (baseRef.startsWith('-')) throw invalid('UNKNOWN_BASE_REF', `base ref "${baseRef}" is not valid`, 'baseRef');
  const base = await revParse(worktreePath, baseRef);
  if (!base) throw invalid('UNKNOWN_BASE_REF', `base ref "${baseRef}" does not exist`, 'baseRef');
  const mb = await runGit(worktreePath, ['merge-base', base, 'HEAD'], { okCodes: [0, 1] });
  return mb.code === 0 ? mb.stdout.trim() : base;
}

/**
 * Stages the whole working tree into `indexFile` (never the real index) and
 * returns its path. Falls back to an empty seed if the copied index cannot be
 * used (split-index setups keep part of it beside the real one).
 */
export async function snapshotWorktree(cwd: string, indexFile: string): Promise<string> {
  const realIndex = (await runGit(cwd, ['rev-parse', '--path-format=absolute', '--git-path', 'index'])).stdout.trim();
  // The copy must keep the real index's mtime: git's racy-clean check compares each entry's
  // mtime with the INDEX FILE's mtime. A fresh mtime would make git trust stale stat data and
  // miss a same-size edit made in the same second as the last index write.
  const seeded = await stat(realIndex)
    .then(async (st) => {
      await copyFile(realIndex, indexFile);
      await utimes(indexFile, st.atime, st.mtime);
      return true;
    })
    .catch(() => false);
  const add = () => runGit(cwd, ['add', '-A', '--', '.'], { env: { GIT_INDEX_FILE: indexFile }, timeoutMs: 600_000 });
  try {
    await add();
  } catch (e) {
    if (!seeded) throw e;
    await rm(indexFile, { force: true });
    await add();
  }
  return indexFile;
}
