import type { Logger } from 'pino';
import type { Db } from './db/database.ts';
import * as reposRepo from './db/repos-repo.ts';
import { reconcileWorktrees } from './git/hygiene.ts';

/**
 * At startup: remove worktree directories no job owns, prune git's worktree
 * list, and report CodePlane branches without a job (never deleted: they may
 * hold work). Runs before any job starts, so no live job can be mistaken.
 */
export async function reconcileAllWorktrees(db: Db, worktreesRoot: string, log: Logger): Promise<void> {
  const rows = db.all(db.q.selectFrom('jobs').select(['repo_id', 'worktree_path', 'branch']));
  for (const repo of reposRepo.listRepos(db)) {
    const mine = rows.filter((r) => r.repo_id === repo.id);
    try {
      const report = await reconcileWorktrees({
        repoPath: repo.path,
        repoName: repo.name,
        worktreesRoot,
        knownWorktreePaths: mine.map((r) => r.worktree_path),
        knownBranches: mine.map((r) => r.branch),
      });
      if (report.removed.length || report.orphanBranches.length || report.errors.length)
        log.info({ repo: repo.path, ...report }, 'reconciled worktrees at startup');
    } catch (e) {
      log.warn({ repo: repo.path, err: e }, 'could not reconcile worktrees (is the repository still there?)');
    }
  }
}
