/**
 * The initial schema. Written as plain SQL (not kysely's schema builder)
 * because constraints such as AUTOINCREMENT and row-level defaults read
 * more plainly here, and a migration must never change once released:
 * later changes go in 002-…, 003-….
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Migration } from './index.ts';

export const initial: Migration = {
  version: 1,
  name: 'initial',
  up(db: BetterSqlite3.Database): void {
    db.exec(`
      CREATE TABLE repos (
        id             TEXT PRIMARY KEY,
        path           TEXT NOT NULL UNIQUE,
        name           TEXT NOT NULL,
        default_branch TEXT NOT NULL,
        created_at     TEXT NOT NULL
      ) STRICT;

      CREATE TABLE jobs (
        id                TEXT PRIMARY KEY,
        repo_id           TEXT NOT NULL REFERENCES repos(id),
        title             TEXT NOT NULL,
        prompt            TEXT NOT NULL,
        agent             TEXT NOT NULL,
        model             TEXT,
        state             TEXT NOT NULL,
        permission_mode   TEXT NOT NULL,
        base_ref          TEXT NOT NULL,
        branch            TEXT NOT NULL,
        worktree_path     TEXT NOT NULL,
        created_at        TEXT NOT NULL,
        updated_at        TEXT NOT NULL,
        completed_at      TEXT,
        resolution        TEXT,
        pr_url            TEXT,
        failure_reason    TEXT,
        agent_session_id  TEXT,
        input_tokens      INTEGER NOT NULL DEFAULT 0,
        output_tokens     INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens INTEGER NOT NULL DEFAULT 0,
        turns             INTEGER NOT NULL DEFAULT 0,
        cost_usd          REAL NOT NULL DEFAULT 0,
        last_seq          INTEGER NOT NULL DEFAULT 0,
        snapshot          TEXT,
        queue_order       INTEGER NOT NULL
      ) STRICT;
      -- Newest-first listing with a (created_at, id) keyset cursor.
      CREATE INDEX jobs_created ON jobs(created_at, id);
      -- Filtering by state; queue_order second so the scheduler's FIFO read is one index range.
      CREATE INDEX jobs_state ON jobs(state, queue_order);
      -- Refusing to delete a repo with live jobs without a table scan.
      CREATE INDEX jobs_repo ON jobs(repo_id);

      CREATE TABLE events (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id  TEXT NOT NULL,
        seq     INTEGER NOT NULL,
        type    TEXT NOT NULL,
        payload TEXT NOT NULL,
        ts      TEXT NOT NULL,
        UNIQUE (job_id, seq)
      ) STRICT;
      -- Replay of one job's events after a global id (SSE ?jobId=…).
      CREATE INDEX events_job_id ON events(job_id, id);
      -- Transcript and log pages read one event type of one job by seq.
      CREATE INDEX events_job_type_seq ON events(job_id, type, seq);

      CREATE TABLE approvals (
        id           TEXT PRIMARY KEY,
        job_id       TEXT NOT NULL,
        kind         TEXT NOT NULL,
        summary      TEXT NOT NULL,
        detail       TEXT NOT NULL,
        explicit     INTEGER NOT NULL CHECK (explicit IN (0, 1)),
        tool_name    TEXT,
        requested_at TEXT NOT NULL,
        state        TEXT NOT NULL CHECK (state IN ('pending', 'resolved')),
        resolved_at  TEXT,
        resolution   TEXT CHECK (resolution IN ('approved', 'rejected')),
        note         TEXT
      ) STRICT;
      CREATE INDEX approvals_state_job ON approvals(state, job_id);
    `);
  },
};
