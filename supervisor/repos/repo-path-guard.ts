/**
 * Which paths may not be registered as a repository: CodePlane's own data
 * directory, its worktrees directory, and any job's worktree. A job's
 * worktree registered as a repository would get jobs of its own, and
 * discarding one job would delete the other's work. Decided on real paths
 * (symlinks, `..`, trailing slashes resolved by the operating system), for
 * both the path given and the top of the working tree git finds there.
 */
import { realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { AppError } from '../../machines/app-error.ts';

export interface ReservedPaths {
  home: string;
  worktrees: string;
  jobWorktrees: readonly { jobId: string; path: string }[];
}

/** The real path when it exists, else the resolved one (a directory not made yet can still be reserved). */
const real = (p: string): Promise<string> => realpath(p).catch(() => resolve(p));

export const isInside = (child: string, parent: string): boolean => child === parent || child.startsWith(parent.endsWith(sep) ? parent : `${parent}${sep}`);

/** Throws 409 REPO_IS_JOB_WORKTREE or 400 REPO_PATH_RESERVED when any of `paths` (real paths) lies in reserved ground. */
export async function refuseReservedRepoPath(paths: readonly string[], reserved: ReservedPaths): Promise<void> {
  for (const wt of reserved.jobWorktrees) {
    const p = await real(wt.path);
    const hit = paths.find((c) => isInside(c, p));
    if (hit) throw new AppError('conflict', 'REPO_IS_JOB_WORKTREE', `${hit} is the worktree of job ${wt.jobId} (or inside it): register the repository the job came from instead`, { details: { jobId: wt.jobId } });
  }
  for (const [dir, what] of [
    [reserved.worktrees, "CodePlane's worktrees directory"],
    [reserved.home, "CodePlane's data directory ($CODEPLANE_HOME)"],
  ] as const) {
    const p = await real(dir);
    const hit = paths.find((c) => isInside(c, p));
    if (hit) throw new AppError('invalid', 'REPO_PATH_RESERVED', `${hit} is inside ${what} (${p}); register a repository outside it`, { field: 'path' });
  }
}
