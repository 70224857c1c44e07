/**
 * Opens the user's database at start, checking it is who it says it is
 * (db/identity.ts). A database that is missing while its id file remains is
 * NOT recreated: the server runs on an empty in-memory stand-in with writes
 * refused, so the user sees the problem (health, the UI, `cpl doctor`) and
 * nothing is written where their database should be restored.
 */
import type { Logger } from 'pino';
import { openDatabase, type Db } from '../db/database.ts';
import { checkOpened, databaseId, fileIdentityOf, idFileFor, missingDatabase, type FileIdentity } from '../db/identity.ts';
import type { StorageState } from './storage-state.ts';

export interface OpenedStorage {
  db: Db;
  /** The database file whose identity the storage watch keeps checking (absent for the stand-in). */
  file?: { path: string; opened: FileIdentity; id: string };
}

export function openStorage(dbFile: string, storage: StorageState, log: Logger): OpenedStorage {
  const missing = missingDatabase(dbFile);
  if (missing) {
    const db = openDatabase(':memory:', storage);
    storage.identityLost(missing.problem, missing.reason);
    return { db };
  }
  const db = openDatabase(dbFile, storage);
  const id = databaseId(db);
  try {
    const finding = checkOpened(dbFile, id);
    if (finding === 'id_file_written') log.info({ id, file: idFileFor(dbFile) }, 'recorded the database identity');
    else if (finding) storage.identityLost(finding.problem, finding.reason);
  } catch (e) {
    // A full disk may refuse the id file; the storage watch writes it once it can.
    log.warn({ err: e, file: idFileFor(dbFile) }, 'could not write the database id file');
  }
  const opened = fileIdentityOf(dbFile);
  if (!opened) return { db };
  return { db, file: { path: dbFile, opened, id } };
}
