import { signal } from '@preact/signals';
import type { StorageView } from '../../../api/contract.ts';
import { api } from '../api.ts';

/** How often the UI asks /api/health whether the server can write (it answers from memory, no write). */
const POLL_MS = 5000;

/** The server's storage state (`/api/health` `storage`): anything but `ok` shows the storage banner. */
export const storageStatus = signal<StorageView>({ state: 'ok' });

let timer: ReturnType<typeof setInterval> | undefined;

async function poll(): Promise<void> {
  try {
    const h = await api.health();
    const { logLinesDropped: _dropped, ...view } = h.storage;
    storageStatus.value = view as StorageView;
  } catch {
    // Unreachable: the connection indicator says so; keep the last known state.
  }
}

export function startStorageStatus(): void {
  if (timer) return;
  void poll();
  timer = setInterval(() => void poll(), POLL_MS);
}
