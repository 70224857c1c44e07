/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs
 * inside whichever commit crosses the threshold: with synchronous=NORMAL
 * that commit then copies the WAL into the database and fsyncs, which on a
 * slow disk stalls the server's only thread (every API request and SSE
 * write waits). Here a worker thread with its own connection checkpoints
 * every second instead, and the server's connection never does. If the
 * thread cannot start, the automatic checkpoint stays on.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Db } from './database.ts';

const THREAD = fileURLToPath(new URL('./checkpoint-thread.mjs', import.meta.url));

export interface WalCheckpointer {
  stop(): Promise<void>;
}

export function startWalCheckpointer(db: Db, file: string, log: Logger, intervalMs = 1_000): WalCheckpointer {
  let worker: Worker;
  try {
    worker = new Worker(THREAD, { workerData: { file, intervalMs } });
  } catch (e) {
    log.warn({ err: e }, 'could not start the WAL checkpoint thread; SQLite checkpoints automatically');
    return { stop: async () => undefined };
  }
  db.raw.pragma('wal_autocheckpoint = 0');
  let failing = false;
  worker.on('message', (m: unknown) => {
    const msg = m as { type?: unknown; message?: unknown };
    if (msg.type === 'error' && !failing) {
      failing = true;
      log.warn({ reason: msg.message }, 'a WAL checkpoint failed; will retry');
    } else if (msg.type === 'checkpointed') failing = false;
  });
  worker.on('error', (e) => {
    // Without the thread the WAL would grow forever: hand checkpoints back to SQLite.
    log.warn({ err: e }, 'the WAL checkpoint thread died; SQLite checkpoints automatically again');
    if (db.isOpen) db.raw.pragma('wal_autocheckpoint = 1000');
  });
  let exited = false;
  worker.once('exit', () => (exited = true));
  worker.unref(); // it must not keep the process alive on its own
  return {
    stop: () =>
      exited
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            worker.ref(); // ...but a stop waits for its last checkpoint
            worker.once('exit', () => resolve());
            worker.postMessage('stop');
            setTimeout(() => void worker.terminate(), 5_000).unref();
          }),
  };
}
