import type { Logger } from 'pino';
import type { Db } from './db/database.ts';
import * as reposRepo from './db/repos-repo.ts';
import { reconcileWorktrees } from './git/hygiene.ts';
import { quarantineDirFor } from './paths.ts';

/**
 * At startup: move worktree directories no job owns to the quarantine
 * (`$CODEPLANE_HOME/quarantine`, never deleted: they may hold the only copy of
 * an agent's work), prune git's worktree list, and report CodePlane branches
 * without a job. Runs before any job starts, so no live job can be mistaken.
 */
export async function reconcileAllWorktrees(db: Db, worktreesRoot: string, home: string, log: Logger): Promise<void> {
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
        quarantineRoot: quarantineDirFor(home),
      });
      if (report.quarantined.length || report.left.length)
        log.warn({ repo: repo.path, quarantined: report.quarantined, left: report.left }, 'worktrees no job owns were moved to the quarantine (or left in place); `cpl doctor` lists them');
      if (report.orphanBranches.length || report.errors.length)
        log.info({ repo: repo.path, orphanBranches: report.orphanBranches, errors: report.errors }, 'reconciled worktrees at startup');
    } catch (e) {
      log.warn({ repo: repo.path, err: e }, 'could not reconcile worktrees (is the repository still there?)');
    }
  }
}
