/**
 * Why the database could not be opened, with a stable code (`cpl doctor` and
 * the startup path switch on it) and a message a user can act on: it names
 * the path and what to do. Startup failures must never be a bare stack trace.
 */
export type StorageErrorCode = 'DATA_DIR_NOT_WRITABLE' | 'DATABASE_CORRUPT' | 'DATABASE_TOO_NEW' | 'DATABASE_OPEN_FAILED';

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    /** The database file (or, for DATA_DIR_NOT_WRITABLE, the directory) at fault. */
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

const ELSEWHERE = 'or set CODEPLANE_HOME to another directory.';

export const dirNotWritable = (dir: string, reason: string, cause?: unknown): StorageError =>
  new StorageError(
    'DATA_DIR_NOT_WRITABLE',
    dir,
    `Cannot write to the data directory ${dir} (${reason}). Make it a directory this user can write, ${ELSEWHERE}`,
    { cause },
  );

export const notADatabase = (file: string, reason: string, cause?: unknown): StorageError =>
  new StorageError(
    'DATABASE_CORRUPT',
    file,
    `The database at ${file} is not a valid SQLite database (${reason}). Move it aside ${ELSEWHERE}`,
    { cause },
  );

export const damaged = (file: string, problems: string): StorageError =>
  new StorageError(
    'DATABASE_CORRUPT',
    file,
    `The database at ${file} is damaged (quick_check: ${problems}). Move it aside (sqlite3's ".recover" may salvage it) ${ELSEWHERE}`,
  );

export const tooNew = (file: string, found: number, supported: number): StorageError =>
  new StorageError(
    'DATABASE_TOO_NEW',
    file,
    `The database at ${file} has schema version ${found}, but this CodePlane understands up to version ${supported}: ` +
      `it was written by a newer CodePlane. Upgrade CodePlane, ${ELSEWHERE}`,
  );

export const openFailed = (file: string, reason: string, cause?: unknown): StorageError =>
  new StorageError(
    'DATABASE_OPEN_FAILED',
    file,
    `Could not open the database at ${file} (${reason}). Check that it is a file this user can read and write, ${ELSEWHERE}`,
    { cause },
  );
