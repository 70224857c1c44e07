import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { LogFile } from '../machines/log-file.ts';
import { redactJsonLine, type Redactor } from '../machines/redact.ts';

export const REDACT_PATHS = ['password', '*.password', 'token', '*.token', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'env', '*.env'];

/** The worker's root logger: JSON lines to `$CODEPLANE_HOME/logs/jobs/<jobId>.log`, each redacted as a whole before it is written. */
export function createWorkerLogger(home: string, jobId: string, redactor?: Redactor): Logger {
  const dir = join(home, 'logs', 'jobs');
  mkdirSync(dir, { recursive: true });
  // A full disk drops lines (counted) instead of crashing the worker or spinning at its exit: machines/log-file.ts.
  const dest = new LogFile(openSync(join(dir, `${jobId}.log`), 'a'));
  return pino({
    level: process.env['CPL_LOG_LEVEL'] ?? 'info',
    redact: REDACT_PATHS,
    base: { pid: process.pid, role: 'worker' },
    // Over the serialized line: an error's message or stack quoting a token is caught wherever it sits.
    ...(redactor ? { hooks: { streamWrite: (line: string) => redactJsonLine(line, redactor) } } : {}),
  }, dest).child({ jobId });
}
