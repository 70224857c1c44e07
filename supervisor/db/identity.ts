/**
 * Is the database the user's own? A random id lives in the database
 * (storage_identity, migration 004) and in a file beside it
 * (`codeplane.db.id`). Disagreement means the database was lost, replaced or
 * deleted: CodePlane then refuses to write (storage-state.ts) rather than
 * silently starting an empty database next to the user's worktrees.
 *
 * The file is the witness, the database the authority: a missing id file
 * alone loses nothing and is written again; a missing database with an id
 * file left behind is the loss it is there to notice.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IdentityProblem } from '../storage/storage-state.ts';
import type { Db } from './database.ts';

const ID = /^[0-9a-f]{32}$/;

export const idFileFor = (dbFile: string): string => `${dbFile}.id`;

/** The database's own id (every database at schema 4 or later has one). */
export function databaseId(db: Db): string {
  const row = db.get(db.q.selectFrom('storage_identity').select('db_id').where('one', '=', 1));
  if (!row) throw new Error('the database has no identity row (storage_identity)');
  return row.db_id;
}

/** What the id file says: undefined when there is none, 'garbled' when it is not an id CodePlane wrote. */
export function readIdFile(dbFile: string): string | 'garbled' | undefined {
  let text: string;
  try {
    text = readFileSync(idFileFor(dbFile), 'utf8');
  } catch (e) {
    if (typeof e === 'object' && e !== null && 'code' in e && e.code === 'ENOENT') return undefined;
    return 'garbled'; // unreadable: it cannot vouch for any database
  }
  const id = text.trim();
  return ID.test(id) ? id : 'garbled';
}

/** Writes the id file (mode 0600). Throws what the filesystem says (a full disk: ENOSPC). */
export function writeIdFile(dbFile: string, id: string): void {
  writeFileSync(idFileFor(dbFile), `${id}\n`, { mode: 0o600 });
}

/** Which file a path is right now (device and inode), undefined when it is gone. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

export function fileIdentityOf(path: string): FileIdentity | undefined {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

export interface IdentityFinding {
  problem: IdentityProblem;
  reason: string;
}

/** Before opening: a database that is gone while its id file remains must not be recreated empty. */
export function missingDatabase(dbFile: string): IdentityFinding | undefined {
  if (existsSync(dbFile)) return undefined;
  const id = readIdFile(dbFile);
  if (id === undefined) return undefined; // a first start (or both lost: hygiene quarantines what it cannot place)
  return {
    problem: 'missing',
    reason: `the database ${dbFile} is missing, but ${idFileFor(dbFile)} says one existed (id ${id}). ` +
      'Restore the database file (and stop CodePlane first); or, to start over with an empty database, delete the id file and restart',
  };
}

/** Just after opening: the database and the id file must name the same id; a missing id file is written. */
export function checkOpened(dbFile: string, id: string): IdentityFinding | 'id_file_written' | undefined {
  const recorded = readIdFile(dbFile);
  if (recorded === undefined) {
    writeIdFile(dbFile, id);
    return 'id_file_written';
  }
  if (recorded === id) return undefined;
  return {
    problem: 'replaced',
    reason: `the database ${dbFile} (id ${id}) is not the one ${idFileFor(dbFile)} names (${recorded === 'garbled' ? 'an unreadable id' : `id ${recorded}`}): it was replaced or restored from elsewhere. ` +
      'Put the right database back (CodePlane stopped); or, if this one is right, delete the id file and restart',
  };
}

/**
 * While running: the file at the database's path must still be the one that
 * was opened (same device and inode) and the id file must still name it.
 * SQLite keeps writing to an open file that was deleted or renamed; those
 * writes would vanish with the process.
 */
export function checkRunning(dbFile: string, opened: FileIdentity, id: string): IdentityFinding | undefined {
  const now = fileIdentityOf(dbFile);
  if (now === undefined)
    return { problem: 'deleted', reason: `the database ${dbFile} was deleted while CodePlane was running; what this server still holds is saved beside it (see the log) and writes are refused` };
  if (now.dev !== opened.dev || now.ino !== opened.ino)
    return { problem: 'replaced', reason: `the database file ${dbFile} was replaced while CodePlane was running (it is no longer the file that was opened); writes are refused until a restart` };
  const recorded = readIdFile(dbFile);
  if (recorded !== undefined && recorded !== id)
    return { problem: 'replaced', reason: `${idFileFor(dbFile)} no longer names the open database (id ${id}); writes are refused until a restart` };
  return undefined;
}
