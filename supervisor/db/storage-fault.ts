/**
 * Which SQLite failures are the storage's fault (not the query's): the server
 * degrades to read-only on these instead of failing the request with a 500 or
 * crashing on a background path. Decided by SQLite's own result code, the
 * extended codes included (SQLITE_IOERR_WRITE, SQLITE_BUSY_SNAPSHOT,
 * SQLITE_READONLY_DBMOVED …), never by the message text.
 */
import type { StorageFaultCause } from '../storage/storage-state.ts';

export function storageFaultOf(e: unknown): StorageFaultCause | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e) || typeof e.code !== 'string') return undefined;
  const code = e.code;
  if (code === 'SQLITE_FULL') return 'disk_full';
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) return 'io_error';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'locked';
  if (code.startsWith('SQLITE_READONLY')) return 'read_only_file';
  return undefined;
}

/** A sentence for the user (health, the 503's message): what happened, in their terms. */
export function describeFault(cause: StorageFaultCause, e: unknown): string {
  const detail = e instanceof Error ? e.message : String(e);
  switch (cause) {
    case 'disk_full':
      return `the disk holding the database is full (${detail}); free some space and writes resume by themselves`;
    case 'io_error':
      return `the database file could not be read or written (${detail})`;
    case 'locked':
      return `another process holds a lock on the database (${detail}); writes resume once it lets go`;
    case 'read_only_file':
      return `the database file cannot be written (${detail})`;
  }
}
