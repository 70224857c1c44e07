import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gitOut, revParse, runGit } from './git-exec.ts';
import { conflict, invalid } from '../../machines/app-error.ts';

/** `<worktrees>/<repo-name>-<short-hash>/<job-id>`: outside the user's repo, unique per repo path. */
export function worktreePathFor(worktreesRoot: string, repoPath: string, repoName: string, jobId: string): string {
  const hash = createHash('sha1').update(repoPath).digest('hex').slice(0, 8);
  return join(worktreesRoot, `${repoName}-${hash}`, jobId);
}

/** Resolves a ref to a commit, or fails with a 400 naming the field. */
export async function resolveCommit(repoPath: string, ref: string): Promise<string> {
  if (ref.startsWith('-')) throw invalid('UNKNOWN_BASE_REF', `base ref "${ref}" is not valid`, 'baseRef');
  const sha = await revParse(repoPath, ref).catch(() => undefined);
  if (!sha) throw invalid('UNKNOWN_BASE_REF', `base ref "${ref}" does not exist in ${repoPath}`, 'baseRef');
  return sha;
}

/** Checks that `branch` is a valid new branch name in the repository. */
export async function checkNewBranch(repoPath: string, branch: string): Promise<void> {
  const valid = branch.startsWith('-') ? '' : await gitOut(repoPath, ['check-ref-format', '--branch', branch]).catch(() => '');
  if (!valid) throw invalid('INVALID_BRANCH', `"${branch}" is not a valid branch name`, 'branch');
  const exists = await gitOut(repoPath, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).catch(() => '');
  if (exists) throw conflict('BRANCH_EXISTS', `branch "${branch}" already exists in ${repoPath}`);
}

/**
 * `git worktree add -b <branch> <path> <commit>`. On failure nothing is left
 * behind: no directory, no branch, no worktree registration.
 */
export async function addWorktree(repoPath: string, path: string, branch: string, commit: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  try {
    await runGit(repoPath, ['worktree', 'add', '-b', branch, path, commit]);
  } catch (e) {
    // A branch that already existed is someone else's: only undo what we made.
    const theirs = e instanceof Error && /already exists/.test(e.message);
    await (theirs ? rm(path, { recursive: true, force: true }) : removeWorktree(repoPath, path, branch)).catch(() => undefined);
    throw e;
  }
}

/** Whether `path` is a git worktree with `branch` checked out (a worktree left complete by a crash). */
export async function isWorktreeOn(path: string, branch: string): Promise<boolean> {
  const head = await gitOut(path, ['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '');
  return head === branch;
}

/** Removes a job's worktree and (unless kept) its branch; idempotent. Never touches any other branch. */
export async function removeWorktree(repoPath: string, path: string, branch: string, opts: { keepBranch?: boolean } = {}): Promise<void> {
  await runGit(repoPath, ['worktree', 'remove', '--force', path]).catch(() => undefined);
  await rm(path, { recursive: true, force: true });
  await runGit(repoPath, ['worktree', 'prune']).catch(() => undefined);
  if (!opts.keepBranch) await runGit(repoPath, ['branch', '-D', branch]).catch(() => undefined);
}
