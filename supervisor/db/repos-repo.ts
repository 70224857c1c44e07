/**
 * Registered repositories. Jobs may only target a registered repo, so the
 * API resolves `repo` (an id or a path) here first. Paths are stored as the
 * caller gives them: it must pass an absolute realpath, so that one checkout
 * cannot be registered twice under two spellings.
 */
import type { Selectable } from 'kysely';
import type { Repo } from '../../api/contract.ts';
import { TERMINAL_STATES } from '../../machines/job-spec.ts';
import type { Db } from './database.ts';
import type { ReposTable } from './schema.ts';

export interface NewRepo extends Repo {
  createdAt: string;
}

export type DeleteRepoResult =
  | { ok: true; deletedJobIds: string[] }
  | { ok: false; code: 'REPO_NOT_FOUND' }
  | { ok: false; code: 'REPO_HAS_ACTIVE_JOBS'; jobIds: string[] };

const toRepo = (r: Selectable<ReposTable>): Repo => ({
  id: r.id,
  path: r.path,
  name: r.name,
  defaultBranch: r.default_branch,
});

/**
 * Registers a repo; idempotent by path: registering a path again returns the
 * row already there (with its original id), so two concurrent "add" requests
 * for one checkout cannot fail with a constraint error.
 */
export function insertRepo(db: Db, repo: NewRepo): Repo {
  return db.tx(() => {
    const row = rowOf(repo);
    // OR IGNORE covers both a taken path and a taken id; the lookup below tells which row won.
    const { changes } = db.run(db.q.insertInto('repos').orIgnore().values(row));
    if (changes === 1) return toRepo(row);
    const existing = db.get(db.q.selectFrom('repos').selectAll().where('path', '=', repo.path));
    // Not the path, so the id collided with another repo's: a caller bug (ids are random), not a user error.
    if (!existing) throw new Error(`insertRepo: repo id ${repo.id} is already taken by another path`);
    return toRepo(existing);
  });
}

/** Oldest first: the order in which they were registered. */
export function listRepos(db: Db): Repo[] {
  return db.all(db.q.selectFrom('repos').selectAll().orderBy('created_at').orderBy('id')).map(toRepo);
}

/** Every job's worktree path (they may not be registered as repositories). */
export function jobWorktreePaths(db: Db): { jobId: string; path: string }[] {
  return db.all(db.q.selectFrom('jobs').select(['id', 'worktree_path'])).map((r) => ({ jobId: r.id, path: r.worktree_path }));
}

/** By id, or by exact (already realpath'd) path. */
export function findRepo(db: Db, idOrPath: string): Repo | undefined {
  const row = db.get(
    db.q
      .selectFrom('repos')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrPath), eb('path', '=', idOrPath)]))
      .limit(1),
  );
  return row && toRepo(row);
}

/**
 * Unregisters a repo. Refused while any of its jobs is not terminal (a worker
 * may be writing to its worktree). Its finished jobs go with it, together with
 * their events and approvals, in one transaction: a job must always name a
 * repo. The deleted job ids are returned so the caller can remove worktrees.
 */
export function deleteRepo(db: Db, id: string): DeleteRepoResult {
  return db.tx(() => {
    if (!db.get(db.q.selectFrom('repos').select('id').where('id', '=', id))) return { ok: false, code: 'REPO_NOT_FOUND' };
    const jobs = db.all(db.q.selectFrom('jobs').select(['id', 'state']).where('repo_id', '=', id));
    const active = jobs.filter((j) => !TERMINAL_STATES.includes(j.state)).map((j) => j.id);
    if (active.length > 0) return { ok: false, code: 'REPO_HAS_ACTIVE_JOBS', jobIds: active };
    // Subqueries rather than id lists: no bound-parameter limit however many jobs there were.
    const ofRepo = db.q.selectFrom('jobs').select('id').where('repo_id', '=', id);
    db.run(db.q.deleteFrom('approvals').where('job_id', 'in', ofRepo));
    db.run(db.q.deleteFrom('events').where('job_id', 'in', ofRepo));
    db.run(db.q.deleteFrom('jobs').where('repo_id', '=', id));
    db.run(db.q.deleteFrom('repos').where('id', '=', id));
    return { ok: true, deletedJobIds: jobs.map((j) => j.id) };
  });
}

const rowOf = (r: NewRepo): Selectable<ReposTable> => ({
  id: r.id,
  path: r.path,
  name: r.name,
  default_branch: r.defaultBranch,
  created_at: r.createdAt,
});
