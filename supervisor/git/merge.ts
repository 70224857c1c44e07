import { conflict, invalid } from '../../machines/app-error.ts';
import { commitPendingChanges, ensureWorktree, identityArgs } from './commit-changes.ts';
import { GitCommandError, gitOut, isAncestor, revParse, runGit, splitZ, tail } from './git-exec.ts';
import { jobGitEnv } from './job-git.ts';
import { overlappingLocalChanges } from './local-changes.ts';
import { findBranchCheckout, shortBranch } from './worktree-list.ts';

/**
 * Landing a job on its base branch without ever endangering the user's work.
 *
 * WHY no `git merge` in a checkout: a conflicted `git merge` leaves MERGE_HEAD
 * and conflict markers behind, and `reset`/`stash`/`checkout`/`clean` can lose
 * uncommitted work. Instead the result is computed in the object database
 * only (`merge-tree --write-tree` + `commit-tree`), and the base ref moves in
 * ONE step that either happens completely or not at all:
 *  - base not checked out anywhere → `update-ref <new> <old>` (compare-and-swap);
 *  - base checked out by the user → refuse if their uncommitted files overlap
 *    the change, else `git merge --ff-only <new>` in their worktree, which
 *    git guarantees refuses rather than overwrites local changes.
 * On any refusal the base ref, every index and every working file are as
 * before; at most an unreferenced commit object is left for gc.
 */
/**
 * merge: always a two-parent merge commit (also when a fast-forward was possible), so the
 *        job stays visible as one unit in the base's history;
 * squash: one single-parent commit with the job's whole change;
 * ff-only: the base moves to the job's head itself, or NOT_FAST_FORWARD.
 */
export type MergeStrategy = 'merge' | 'squash' | 'ff-only';

export interface MergeJobInput {
  repoPath: string;
  worktreePath: string;
  /** The job branch (`codeplane/…`). */
  branch: string;
  /** The base branch to land on (`main` or `refs/heads/main`). */
  baseRef: string;
  strategy: MergeStrategy;
  /** Commit message for the merge/squash commit; default derived from the job title. */
  message?: string;
  jobTitle: string;
}

export interface MergeJobResult {
  resolution: 'merged';
  /** The base branch's new tip (unchanged tip when there was nothing to land). */
  commit: string;
  strategy: MergeStrategy;
  /** How the base moved: its ref only, fast-forward of the user's checkout, or not at all. */
  updated: 'ref' | 'checkout' | 'none';
  /** Set when the agent's uncommitted changes were committed on the job branch first. */
  jobCommit?: string;
}

export async function mergeJob(input: MergeJobInput): Promise<MergeJobResult> {
  const { repoPath, strategy } = input;
  const base = shortBranch(input.baseRef);
  const branch = shortBranch(input.branch);
  if (base === branch) throw invalid('INVALID_BRANCH', `the job branch and the base branch are both "${base}"`, 'branch');
  if (!(await revParse(repoPath, `refs/heads/${base}`))) throw invalid('BASE_NOT_A_BRANCH', `"${input.baseRef}" is not a local branch to merge into`, 'baseRef');
  await ensureWorktree(input.worktreePath);
  const onBranch = await runGit(input.worktreePath, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { okCodes: [0, 1], env: await jobGitEnv(repoPath, input.worktreePath) });
  if (onBranch.stdout.trim() !== branch) throw conflict('JOB_BRANCH_MISMATCH', `the job's worktree is not on branch "${branch}"`);

  const pending = await commitPendingChanges(repoPath, input.worktreePath, input.jobTitle);
  const jobCommit = pending.committed ? { jobCommit: pending.head } : {};
  // Read the base only now: anything the user committed meanwhile is included.
  const oldBase = (await revParse(repoPath, `refs/heads/${base}`))!;
  const jobHead = pending.head;
  const done = (commit: string, updated: MergeJobResult['updated']): MergeJobResult => ({ resolution: 'merged', commit, strategy, updated, ...jobCommit });
  if (await isAncestor(repoPath, jobHead, oldBase)) return done(oldBase, 'none');

  let next: string;
  if (strategy === 'ff-only') {
    if (!(await isAncestor(repoPath, oldBase, jobHead)))
      throw conflict('NOT_FAST_FORWARD', `"${base}" has commits the job branch does not; a fast-forward is not possible`, { baseRef: base, branch });
    next = jobHead;
  } else {
    const tree = await mergeTree(repoPath, oldBase, jobHead, base, branch);
    if (strategy === 'squash' && tree === (await gitOut(repoPath, ['rev-parse', `${oldBase}^{tree}`]))) return done(oldBase, 'none');
    const parents = strategy === 'squash' ? ['-p', oldBase] : ['-p', oldBase, '-p', jobHead];
    const message = input.message?.trim() || defaultMessage(strategy, branch, base, input.jobTitle);
    next = await gitOut(repoPath, [...(await identityArgs(repoPath)), 'commit-tree', tree, ...parents, '-F', '-'], { input: `${message}\n` });
  }

  const checkout = await findBranchCheckout(repoPath, base);
  if (!checkout) {
    const moved = await runGit(repoPath, ['update-ref', '-m', `CodePlane: land ${branch} (${strategy})`, `refs/heads/${base}`, next, oldBase], { okCodes: [0, 1, 128] });
    if (moved.code !== 0) throw baseMoved(base);
    return done(next, 'ref');
  }
  await fastForwardCheckout(checkout.path, base, oldBase, next);
  return done(next, 'checkout');
}

/** The merged tree, or MERGE_CONFLICT naming the files. Writes objects only. */
async function mergeTree(repoPath: string, ours: string, theirs: string, base: string, branch: string): Promise<string> {
  const r = await runGit(repoPath, ['merge-tree', '--write-tree', '--no-messages', '--name-only', '-z', ours, theirs], { okCodes: [0, 1] });
  const [tree = '', ...files] = splitZ(r.stdout);
  if (r.code === 0) return tree;
  const conflictFiles = [...new Set(files)].sort();
  throw conflict('MERGE_CONFLICT', `merging "${branch}" into "${base}" conflicts in ${conflictFiles.length} file(s): ${conflictFiles.join(', ')}`, {
    conflictFiles,
    baseRef: base,
    branch,
  });
}

/** Moves the user's checked-out base from `oldBase` to `next`, or refuses with everything untouched. */
async function fastForwardCheckout(userTree: string, base: string, oldBase: string, next: string): Promise<void> {
  const head = await revParse(userTree, 'HEAD');
  if (head !== oldBase) throw baseMoved(base);
  const overlap = await overlappingLocalChanges(userTree, oldBase, next);
  if (overlap.length > 0)
    throw conflict('LOCAL_CHANGES_OVERLAP', `your uncommitted changes in ${userTree} touch files this merge changes: ${overlap.join(', ')}. Commit or move them, then merge again.`, {
      files: overlap,
      worktreePath: userTree,
    });
  try {
    // --no-autostash: a user's merge.autoStash=true must not stash their work.
    await runGit(userTree, ['merge', '--ff-only', '--no-autostash', '--quiet', next]);
  } catch (e) {
    if (!(e instanceof GitCommandError)) throw e;
    throw conflict('BASE_UPDATE_REFUSED', `git refused to update ${userTree}; nothing was changed: ${tail(e.result.stderr, 1000)}`, { worktreePath: userTree });
  }
}

const baseMoved = (base: string) => conflict('BASE_MOVED', `"${base}" changed while merging; nothing was changed, try again`, { baseRef: base });

function defaultMessage(strategy: MergeStrategy, branch: string, base: string, jobTitle: string): string {
  const title = jobTitle.replace(/\s+/g, ' ').trim();
  return strategy === 'squash' ? `CodePlane: ${title || branch}` : `Merge branch '${branch}' into ${base}\n\nCodePlane: ${title || branch}`;
}

/**
 * "Resolve with agent": the follow-up message for the agent. Conflicts are
 * resolved on the JOB branch, inside its worktree, so the user's checkout is
 * never involved; afterwards mergeJob lands cleanly.
 */
export function conflictResolutionPrompt(baseRef: string, files: readonly string[]): string {
  const base = shortBranch(baseRef);
  const list = files.length ? files.map((f) => `- ${f}`).join('\n') : '- (git will list them)';
  return [
    `Merging this branch into \`${base}\` conflicts in these files:`,
    list,
    '',
    `Please resolve this in your worktree: run \`git merge ${base}\` on your current branch, resolve every conflict`,
    'keeping the intent of both sides, make sure the project still builds and its tests pass, then `git add` the',
    `files and \`git commit\` to conclude the merge. Do not rebase, reset or push, and do not switch branches.`,
  ].join('\n');
}
