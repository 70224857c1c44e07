/**
 * The periodic look at the storage, off the request path:
 * - while the server is read-only after a fault, a probe write (one tiny
 *   UPDATE, bounded by the busy timeout) finds out when writing works again
 *   and clears the state, so a freed disk or a released lock needs no restart;
 *   after a full disk it first asks the filesystem for some free space, so a
 *   write that fits in a freed WAL page does not flip the server back and forth;
 * - the database file must still be the one that was opened (db/identity.ts):
 *   deleted or replaced under us, writes stop at once and what this process
 *   still holds is copied beside it (SQLite's online backup), since it would
 *   otherwise vanish when the process exits.
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Db } from '../db/database.ts';
import { checkRunning, fileIdentityOf, readIdFile, writeIdFile, type FileIdentity, type IdentityFinding } from '../db/identity.ts';
import { describeFault, storageFaultOf } from '../db/storage-fault.ts';

export interface StorageWatchOptions {
  db: Db;
  /** The database file, when it is a file whose identity is known (not the stand-in for a missing one). */
  file?: { path: string; opened: FileIdentity; id: string };
  /** How often to look (CPL_STORAGE_CHECK_MS). */
  intervalMs: number;
  /** After a full disk: the free space wanted before writing is tried again (CPL_STORAGE_MIN_FREE_BYTES). */
  minFreeBytes: number;
  /** An identity problem was found: the caller logs it loudly and (for `deleted`) where the rescue copy went. */
  onIdentityProblem(finding: IdentityFinding, rescue: Promise<string | undefined>): void;
}

/** The first probe after a fault; each next one waits twice as long, up to the regular interval. */
const FIRST_PROBE_MS = 100;

export class StorageWatch {
  private timer: NodeJS.Timeout | undefined;
  private early: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly o: StorageWatchOptions) {}

  start(): void {
    this.timer ??= setInterval(() => this.checkNow(), this.o.intervalMs);
    this.timer.unref();
    // A short fault (a lock held for a moment) clears within ~100 ms, not at the next regular look.
    this.unsubscribe ??= this.o.db.storage.onChange((v) => {
      if (v.state === 'read_only' && !this.early) this.probeSoon(FIRST_PROBE_MS);
    });
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.early);
    this.timer = this.early = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Asynchronous retry with backoff: 100, 200, 400 … ms, then the regular interval takes over. */
  private probeSoon(delayMs: number): void {
    this.early = setTimeout(() => {
      this.early = undefined;
      try {
        this.probe();
      } catch {
        // as in checkNow
      }
      const next = delayMs * 2;
      if (this.o.db.storage.current().state === 'read_only' && next < this.o.intervalMs) this.probeSoon(next);
    }, delayMs);
    this.early.unref();
  }

  /** One look: identity first (it outranks a fault), then the probe. Never throws: it runs on a timer. */
  checkNow(): void {
    try {
      this.checkIdentity();
      this.probe();
    } catch {
      // The next round looks again; a timer callback that throws would take the server down.
    }
  }

  private checkIdentity(): void {
    const { db, file } = this.o;
    if (!file || db.storage.current().state === 'identity_problem') return;
    const finding = checkRunning(file.path, file.opened, file.id);
    if (finding) {
      db.storage.identityLost(finding.problem, finding.reason);
      this.o.onIdentityProblem(finding, finding.problem === 'deleted' ? this.rescue(file.path) : Promise.resolve(undefined));
      return;
    }
    // Only the id file went: the database is still the one opened, so it is written again.
    if (readIdFile(file.path) === undefined && fileIdentityOf(file.path)) {
      try {
        writeIdFile(file.path, file.id);
      } catch {
        // a full disk: the next round tries again
      }
    }
  }

  private probe(): void {
    const { db } = this.o;
    const view = db.storage.current();
    if (view.state !== 'read_only') return;
    if (view.cause === 'disk_full' && this.o.file && freeBytes(dirname(this.o.file.path)) < this.o.minFreeBytes) return;
    try {
      db.probe('UPDATE storage_identity SET probed_at = ? WHERE one = 1', new Date().toISOString());
    } catch (e) {
      const cause = storageFaultOf(e);
      if (cause !== undefined) db.storage.fault(cause, describeFault(cause, e));
      return;
    }
    db.storage.recovered();
  }

  /** Copies the open (deleted) database beside where it was; resolves to the copy's path, undefined if that failed too. */
  private async rescue(path: string): Promise<string | undefined> {
    const copy = `${path}.rescued-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      await this.o.db.raw.backup(copy);
      return copy;
    } catch {
      return undefined;
    }
  }
}

/** Bytes an unprivileged writer may still use on the filesystem holding `dir` (Infinity when it cannot tell). */
function freeBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Infinity;
  }
}
