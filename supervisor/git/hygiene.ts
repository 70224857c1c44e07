import { existsSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { runGit } from './git-exec.ts';
import { quarantineWorktree, type QuarantineRecord } from './quarantine.ts';
import { repositoryPresent } from './repo-present.ts';
import { canonicalPath, listWorktrees } from './worktree-list.ts';
import { worktreePathFor } from './worktrees.ts';

/**
 * Start-up hygiene: worktrees left behind by a crash between "create
 * worktree" and "record job", or by a job row deleted by hand.
 *
 * WHY nothing is deleted: a worktree no job knows may be litter, or it may
 * be a job's only copy of uncommitted work whose database row was lost (a
 * database deleted or recreated). Telling the two apart is not possible from
 * here, so unknown worktrees are moved to the quarantine (git/quarantine.ts)
 * — off the worktrees root, out of the way of new jobs — or, when they cannot
 * be moved, left in place and reported. A `codeplane/*` branch without a job
 * is likewise only reported.
 *
 * Call it when no job is being created (at start-up, before the scheduler
 * runs): a worktree added a moment ago but not yet recorded would look orphaned.
 */
export interface ReconcileInput {
  repoPath: string;
  /** CodePlane's worktrees directory (`$CODEPLANE_HOME/worktrees`). */
  worktreesRoot: string;
  /** Worktree paths of every job of this repository that still exists in the database. */
  knownWorktreePaths: readonly string[];
  /** Branches of those jobs (default: whatever the known worktrees have checked out). */
  knownBranches?: readonly string[];
  codeplaneBranchPrefix?: string;
  /** As registered (`basename` of the repo path by default); part of the worktree directory name. */
  repoName?: string;
  /** Where unknown worktrees are moved (`$CODEPLANE_HOME/quarantine`). */
  quarantineRoot: string;
}

export interface ReconcileReport {
  /** Unknown worktrees moved to the quarantine. */
  quarantined: QuarantineRecord[];
  /** Unknown worktrees that could not be moved: still where they were. */
  left: Array<{ path: string; reason: string }>;
  /** `codeplane/*` branches that no known job owns (reported, NOT deleted). */
  orphanBranches: string[];
  errors: Array<{ path: string; message: string }>;
}

export async function reconcileWorktrees(input: ReconcileInput): Promise<ReconcileReport> {
  // A registered repository that vanished (or lost its .git): git run there would walk up into an
  // enclosing repository and take that one's worktrees for this one's unknown ones.
  if (!(await repositoryPresent(input.repoPath)))
    return { quarantined: [], left: [], orphanBranches: [], errors: [{ path: input.repoPath, message: 'the repository is gone (deleted or moved); nothing was reconciled' }] };
  const root = await canonicalPath(input.worktreesRoot);
  const repoDir = dirname(worktreePathFor(input.worktreesRoot, input.repoPath, input.repoName ?? basename(input.repoPath), 'x'));
  const known = new Set(await Promise.all(input.knownWorktreePaths.map(canonicalPath)));
  const registered = await Promise.all((await listWorktrees(input.repoPath)).map(async (w) => ({ ...w, canonical: await canonicalPath(w.path) })));

  // Candidates: this repo's directory under the root, plus any registered worktree under the root.
  const dirs = await readdir(repoDir, { withFileTypes: true }).catch(() => []);
  const candidates = new Set<string>();
  for (const d of dirs) if (d.isDirectory()) candidates.add(await canonicalPath(join(repoDir, d.name)));
  for (const w of registered) if (!w.main && w.canonical.startsWith(`${root}/`)) candidates.add(w.canonical);

  const report: ReconcileReport = { quarantined: [], left: [], orphanBranches: [], errors: [] };
  for (const path of [...candidates].sort()) {
    if (known.has(path)) continue;
    if (!existsSync(path)) continue; // registered but gone: `worktree prune` below forgets it
    try {
      const reg = registered.find((w) => w.canonical === path);
      const outcome = await quarantineWorktree({
        repoPath: input.repoPath,
        path: reg?.path ?? path,
        registered: reg !== undefined,
        ...(reg?.branch ? { branch: reg.branch } : {}),
        quarantineRoot: input.quarantineRoot,
        reason: 'no job in the database owns this worktree (found at start-up)',
      });
      if ('moved' in outcome) report.quarantined.push(outcome.moved);
      else report.left.push(outcome.left);
    } catch (e) {
      report.errors.push({ path, message: e instanceof Error ? e.message : String(e) });
    }
  }
  await runGit(input.repoPath, ['worktree', 'prune']);

  const prefix = input.codeplaneBranchPrefix ?? 'codeplane/';
  const ownedBranches = new Set(input.knownBranches ?? registered.filter((w) => known.has(w.canonical) && w.branch).map((w) => w.branch!));
  const refs = await runGit(input.repoPath, ['for-each-ref', '--format=%(refname)', `refs/heads/${prefix}`]);
  for (const ref of refs.stdout.split('\n').filter(Boolean)) {
    const name = ref.slice('refs/heads/'.length);
    if (name.startsWith(prefix) && !ownedBranches.has(name)) report.orphanBranches.push(name);
  }
  return report;
}

export interface DiskUsage {
  bytes: number;
  /** False when the walk stopped at the time or entry budget: `bytes` is then a lower bound. */
  complete: boolean;
  entries: number;
}

/**
 * Bytes on disk under `path` (allocated blocks, like `du`; symlinks not
 * followed), within a time and entry budget so a huge node_modules cannot
 * stall a request.
 */
export async function diskUsage(path: string, opts: { timeoutMs?: number; maxEntries?: number } = {}): Promise<DiskUsage> {
  const deadline = performance.now() + (opts.timeoutMs ?? 2_000);
  const maxEntries = opts.maxEntries ?? 500_000;
  const out: DiskUsage = { bytes: 0, complete: true, entries: 0 };
  const stack = [path];
  while (stack.length > 0) {
    if (performance.now() > deadline || out.entries >= maxEntries) {
      out.complete = false;
      break;
    }
    const batch = stack.splice(-64); // a few dozen lstat calls in parallel per step
    await Promise.all(
      batch.map(async (p) => {
        const st = await lstat(p).catch(() => undefined);
        if (!st) return;
        out.entries += 1;
        out.bytes += st.blocks !== undefined ? st.blocks * 512 : st.size;
        if (st.isDirectory()) for (const name of await readdir(p).catch(() => [])) stack.push(join(p, name));
      }),
    );
  }
  return out;
}
