import { storageStatus } from '../models/storage-status.ts';

/** Says, on every page, when the server cannot write (a full disk, a lock) or its database is not the user's. */
export function StorageBanner() {
  const s = storageStatus.value;
  switch (s.state) {
    case 'ok':
      return null;
    case 'read_only':
      return (
        <p class="banner error storage-banner" role="alert" data-testid="storage-banner">
          <strong>Read-only.</strong> CodePlane cannot write to its database: {s.reason}. You can look at everything; actions fail until this clears, which happens by itself.
        </p>
      );
    case 'identity_problem':
      return (
        <p class="banner error storage-banner" role="alert" data-testid="storage-banner">
          <strong>Database {s.problem}.</strong> {s.reason}. Nothing is written and no worktree is removed until this is fixed; <code>cpl doctor</code> says more.
        </p>
      );
  }
}
