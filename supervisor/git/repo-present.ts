import { stat } from 'node:fs/promises';
import { runGit } from './git-exec.ts';
import { canonicalPath } from './worktree-list.ts';

/**
 * Whether `repoPath` is still the top of a git working tree. WHY the top and
 * not "git works there": in a directory whose `.git` was deleted, git walks up
 * and finds an enclosing repository; a cleanup that then listed worktrees or
 * deleted a branch would act on that other repository.
 */
export async function repositoryPresent(repoPath: string): Promise<boolean> {
  const st = await stat(repoPath).catch(() => undefined);
  if (!st?.isDirectory()) return false;
  const r = await runGit(repoPath, ['rev-parse', '--show-toplevel'], { okCodes: [0, 128] }).catch(() => undefined);
  if (r?.code !== 0) return false;
  return (await canonicalPath(r.stdout.trim())) === (await canonicalPath(repoPath));
}
