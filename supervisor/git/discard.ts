import { lstat, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { conflict, invalid } from '../../machines/app-error.ts';
import { revParse, runGit } from './git-exec.ts';
import { repositoryPresent } from './repo-present.ts';
import { canonicalPath, listWorktrees, shortBranch } from './worktree-list.ts';

/**
 * "Discard": remove the job's worktree and delete the job's branch.
 *
 * WHY all the refusals: this is the one resolution that deletes things, and
 * its inputs come from a database row. Before anything is removed we check
 * that the branch is not the base branch, not checked out in any worktree but
 * the job's own (that would be the user's, or another job's), and that the
 * directory is a linked worktree of this repository — or, once unregistered,
 * lies under the CodePlane worktrees root — and never the user's main working
 * tree. A refusal removes nothing. Running it twice is fine: the second run
 * finds nothing left and reports so. A repository that vanished: only the
 * leftover directory under the worktrees root goes (there is no branch to delete).
 */
export interface DiscardJobInput {
  repoPath: string;
  worktreePath: string;
  /** The branch recorded for the job when CodePlane created it. */
  branch: string;
  baseRef: string;
  /** CodePlane's worktrees directory; a leftover, unregistered directory is only deleted under it. */
  worktreesRoot?: string;
}

export interface DiscardJobResult {
  resolution: 'discarded';
  worktreeRemoved: boolean;
  branchDeleted: boolean;
}

export async function discardJob(input: DiscardJobInput): Promise<DiscardJobResult> {
  const branch = shortBranch(input.branch);
  const base = shortBranch(input.baseRef);
  if (!branch || branch === base) throw conflict('REFUSE_BASE_BRANCH', `refusing to delete "${branch}": it is the job's base branch`, { branch });

  await unlinkPlantedSymlink(input.worktreePath, input.worktreesRoot);
  const target = await canonicalPath(input.worktreePath);
  // A repository deleted or moved under the job: no git at all (see repositoryPresent); only the
  // job's own leftover directory under the worktrees root is removed.
  const repoThere = await repositoryPresent(input.repoPath);
  const worktrees = repoThere ? await listWorktrees(input.repoPath) : [];
  const entries = await Promise.all(worktrees.map(async (w) => ({ ...w, canonical: await canonicalPath(w.path) })));
  const main = entries.find((w) => w.main);
  if (main && (main.canonical === target || isInside(target, main.canonical) === 'self'))
    throw invalid('REFUSE_MAIN_WORKTREE', `refusing to remove ${input.worktreePath}: it is the repository's own working tree`, 'worktreePath');
  const mine = entries.find((w) => !w.main && w.canonical === target);
  const nested = entries.find((w) => isInside(w.canonical, target) === 'inside');
  if (nested) throw invalid('REFUSE_NOT_A_JOB_WORKTREE', `refusing to remove ${input.worktreePath}: it contains another worktree (${nested.path})`, 'worktreePath');
  const elsewhere = entries.find((w) => w.branch === branch && w.canonical !== target);
  if (elsewhere)
    throw conflict('BRANCH_CHECKED_OUT', `refusing to delete "${branch}": it is checked out in ${elsewhere.path}, which is not this job's worktree`, {
      branch,
      worktreePath: elsewhere.path,
    });

  let worktreeRemoved = false;
  if (mine) {
    // --force twice also removes a worktree someone locked; it is the job's, and being discarded.
    await runGit(input.repoPath, ['worktree', 'remove', '--force', '--force', mine.path], { okCodes: [0, 128] });
    worktreeRemoved = true;
  }
  const leftover = await stat(target).then(
    () => true,
    () => false,
  );
  if (leftover && (mine || (input.worktreesRoot && isInside(target, await canonicalPath(input.worktreesRoot)) === 'inside'))) {
    await rm(target, { recursive: true, force: true });
    worktreeRemoved = true;
  }
  if (!repoThere) return { resolution: 'discarded', worktreeRemoved, branchDeleted: false };
  await runGit(input.repoPath, ['worktree', 'prune'], { okCodes: [0, 128] });

  let branchDeleted = false;
  if (await revParse(input.repoPath, `refs/heads/${branch}`)) {
    // `branch -D` itself also refuses a branch checked out anywhere: a second guard against races.
    await runGit(input.repoPath, ['branch', '-D', '--', branch]);
    branchDeleted = true;
  }
  return { resolution: 'discarded', worktreeRemoved, branchDeleted };
}

/**
 * A symbolic link where the job's worktree was (the worktree deleted, a link put in its place):
 * never followed — what it points to is not the job's, and removing "the worktree" through it
 * deleted that directory. Only the link goes, and only under the worktrees root; elsewhere the
 * discard is refused.
 */
async function unlinkPlantedSymlink(worktreePath: string, worktreesRoot: string | undefined): Promise<void> {
  const isLink = await lstat(worktreePath).then((st) => st.isSymbolicLink(), () => false);
  if (!isLink) return;
  const lexical = join(await canonicalPath(dirname(worktreePath)), basename(worktreePath));
  if (!worktreesRoot || isInside(lexical, await canonicalPath(worktreesRoot)) !== 'inside')
    throw invalid('REFUSE_NOT_A_JOB_WORKTREE', `refusing to remove ${worktreePath}: it is a symbolic link outside the worktrees directory`, 'worktreePath');
  await unlink(worktreePath);
}

/** 'inside' when `p` is strictly below `root`, 'self' when `root` is below or equal to `p`, else 'outside'. */
function isInside(p: string, root: string): 'inside' | 'self' | 'outside' {
  const rel = relative(root, p);
  if (rel === '') return 'self';
  if (!rel.startsWith('..') && !isAbsolute(rel)) return 'inside';
  const back = relative(p, root);
  return !back.startsWith('..') && !isAbsolute(back) ? 'self' : 'outside';
}
