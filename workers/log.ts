import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = ['password', '*.password', 'token', '*.token', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'env', '*.env'];

/** The worker's root logger: JSON lines to `$CODEPLANE_HOME/logs/jobs/<jobId>.log`. */
export function createWorkerLogger(home: string, jobId: string): Logger {
  const dir = join(home, 'logs', 'jobs');
  mkdirSync(dir, { recursive: true });
  // An fd opened here makes the stream ready at once, so an early process.exit cannot race its opening.
  const dest = pino.destination({ fd: openSync(join(dir, `${jobId}.log`), 'a'), sync: false });
  return pino({ level: process.env['CPL_LOG_LEVEL'] ?? 'info', redact: REDACT_PATHS, base: { pid: process.pid, role: 'worker' } }, dest).child({ jobId });
}
