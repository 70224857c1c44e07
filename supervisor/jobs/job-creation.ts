import { conflict, invalid } from '../../machines/app-error.ts';
import type { CreateJobInput } from '../../api/ports.ts';
import type { Repo } from '../../api/contract.ts';
import { currentBranch } from '../git/repo-info.ts';
import { checkNewBranch, resolveCommit, worktreePathFor } from '../git/worktrees.ts';
import { defaultBranchFor, newId, titleFromPrompt } from './ids.ts';

export interface PlannedJob {
  id: string;
  repoId: string;
  title: string;
  prompt: string;
  agent: CreateJobInput['agent'];
  model: string | null;
  permissionMode: NonNullable<CreateJobInput['permissionMode']>;
  baseRef: string;
  branch: string;
  worktreePath: string;
}

/**
 * Validates a job request against the real repository BEFORE anything is
 * written: an unknown base ref or a taken branch is a 4xx and leaves no row,
 * no worktree and no branch behind.
 */
export async function planJob(
  input: CreateJobInput,
  repo: Repo | undefined,
  worktreesRoot: string,
  branchTaken: (branch: string) => boolean,
): Promise<PlannedJob> {
  if (!repo) throw invalid('REPO_NOT_REGISTERED', `"${input.repo}" is not a registered repository; add it with POST /api/repos first`, 'repo');
  const id = newId('j');
  const title = titleFromPrompt(input.prompt);
  const baseRef = input.baseRef ?? (await currentBranch(repo.path));
  await resolveCommit(repo.path, baseRef);
  const branch = input.branch ?? defaultBranchFor(title, id);
  await checkNewBranch(repo.path, branch);
  if (branchTaken(branch)) throw conflict('BRANCH_EXISTS', `another job already uses branch "${branch}"`);
  return {
    id,
    repoId: repo.id,
    title,
    prompt: input.prompt,
    agent: input.agent,
    model: input.model ?? null,
    permissionMode: input.permissionMode ?? 'review_and_approve',
    baseRef,
    branch,
    worktreePath: worktreePathFor(worktreesRoot, repo.path, repo.name, id),
  };
}
