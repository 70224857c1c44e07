import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { LogFile } from '../machines/log-file.ts';

export const REDACT_PATHS = ['password', '*.password', 'token', '*.token', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'env', '*.env'];

/** The worker's root logger: JSON lines to `$CODEPLANE_HOME/logs/jobs/<jobId>.log`. */
export function createWorkerLogger(home: string, jobId: string): Logger {
  const dir = join(home, 'logs', 'jobs');
  mkdirSync(dir, { recursive: true });
  // A full disk drops lines (counted) instead of crashing the worker or spinning at its exit: machines/log-file.ts.
  const dest = new LogFile(openSync(join(dir, `${jobId}.log`), 'a'));
  return pino({ level: process.env['CPL_LOG_LEVEL'] ?? 'info', redact: REDACT_PATHS, base: { pid: process.pid, role: 'worker' } }, dest).child({ jobId });
}
