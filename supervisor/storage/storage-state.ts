/**
 * Whether the database may be written right now, and why not. One small
 * holder shared by the `Db` handle (which refuses writes while it says so),
 * the storage watch (which probes and clears it), `/api/health` and the UI.
 *
 * Two kinds of trouble, on purpose kept apart:
 * - a fault (a full disk, an I/O error, a lock held by another process):
 *   writes are refused until a probe write succeeds, then it clears by itself;
 * - an identity problem (the database is missing, replaced or deleted): it
 *   never clears while this server runs — writing would put the user's data
 *   into a database that is not theirs, or into one that is already gone.
 */
import type { IdentityProblem, StorageFaultCause, StorageView } from '../../api/contract.ts';
import { AppError } from '../../machines/app-error.ts';

export type { IdentityProblem, StorageFaultCause, StorageView } from '../../api/contract.ts';

type Listener = (view: StorageView) => void;

export class StorageState {
  private view: StorageView = { state: 'ok' };
  private readonly listeners = new Set<Listener>();

  current(): StorageView {
    return this.view;
  }

  writable(): boolean {
    return this.view.state === 'ok';
  }

  /** A write failed for a storage reason; no-op while an identity problem stands (that one is worse and sticks). */
  fault(cause: StorageFaultCause, reason: string): void {
    if (this.view.state === 'identity_problem') return;
    if (this.view.state === 'read_only' && this.view.cause === cause) return;
    this.set({ state: 'read_only', cause, reason, since: new Date().toISOString() });
  }

  /** A probe write worked: back to normal (an identity problem is never cleared this way). */
  recovered(): void {
    if (this.view.state !== 'read_only') return;
    this.set({ state: 'ok' });
  }

  identityLost(problem: IdentityProblem, reason: string): void {
    if (this.view.state === 'identity_problem') return;
    this.set({ state: 'identity_problem', problem, reason, since: new Date().toISOString() });
  }

  /** Called on every change of state, with the new one; returns the unsubscribe. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The 503 a refused write answers with: the reason in the message, the state in `details`. */
  unavailable(): AppError {
    const v = this.view;
    const why = v.state === 'ok' ? 'the database refused the write' : v.reason;
    return new AppError('unavailable', 'STORAGE_UNAVAILABLE', `CodePlane cannot write to its database right now: ${why}. Reading still works.`, { details: { storage: v } });
  }

  private set(view: StorageView): void {
    this.view = view;
    for (const l of this.listeners) {
      try {
        l(view);
      } catch {
        // A listener (a log line, a resync) must not stop the others, nor the write path that changed the state.
      }
    }
  }
}

/** Whether `e` is the refusal `StorageState.unavailable()` makes (callers on background paths log it and go on). */
export const isStorageUnavailable = (e: unknown): e is AppError => e instanceof AppError && e.code === 'STORAGE_UNAVAILABLE';
