/**
 * Fixtures for storage tests: a real SQLite file in a fresh temp directory,
 * and short builders for repos, jobs and sequenced events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job, Repo } from '../../api/contract.ts';
import type { DomainEvent, LogLevel, SequencedEvent, TranscriptRole } from '../../machines/domain-events.ts';
import type { JobState } from '../../machines/job-spec.ts';
import { openDatabase, type Db } from '../../supervisor/db/database.ts';
import { insertJob } from '../../supervisor/db/jobs-repo.ts';
import { insertRepo } from '../../supervisor/db/repos-repo.ts';

export function tempDir(prefix = 'cp-storage-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A migrated database file in its own temp dir; `cleanup` closes it and removes the dir. */
export function tempDb(): { db: Db; dir: string; file: string; cleanup: () => void } {
  const { dir, cleanup } = tempDir();
  const file = join(dir, 'codeplane.db');
  const db = openDatabase(file);
  return {
    db,
    dir,
    file,
    cleanup: () => {
      db.close();
      cleanup();
    },
  };
}

export function addRepo(db: Db, id = 'r1', path = `/repos/${id}`): Repo {
  return insertRepo(db, { id, path, name: id, defaultBranch: 'main', createdAt: '2025-01-01T00:00:00.000Z' });
}

export function addJob(db: Db, id: string, opts: { repoId?: string; createdAt?: string; state?: JobState } = {}): Job {
  return insertJob(db, {
    id,
    repoId: opts.repoId ?? 'r1',
    title: `job ${id}`,
    prompt: 'do it',
    agent: 'claude',
    model: null,
    permissionMode: 'review_and_approve',
    baseRef: 'main',
    branch: `cp/${id}`,
    worktreePath: `/wt/${id}`,
    createdAt: opts.createdAt ?? '2025-01-02T00:00:00.000Z',
    ...(opts.state ? { state: opts.state } : {}),
  });
}

/** ts derived from seq so tests can predict it. */
export const tsOf = (seq: number): string => new Date(Date.UTC(2025, 0, 3, 0, 0, seq)).toISOString();

export const seqd = (seq: number, event: DomainEvent): SequencedEvent => ({ seq, ts: tsOf(seq), event });

export const stateChanged = (seq: number, from: JobState, to: JobState, reason?: string): SequencedEvent =>
  seqd(seq, { type: 'job_state_changed', from, to, ...(reason !== undefined ? { reason } : {}) });

export const said = (seq: number, text: string, role: TranscriptRole = 'agent'): SequencedEvent =>
  seqd(seq, { type: 'transcript_update', entry: { seq, role, text } });

export const logged = (seq: number, level: LogLevel, message: string): SequencedEvent =>
  seqd(seq, { type: 'log_line', level, message });
