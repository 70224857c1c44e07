import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { StoredEvent } from '../api/contract.ts';
import { terminalSafe } from './terminal-text.ts';

const REDACT = ['password', '*.password', 'token', '*.token', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.cookie', 'privateKey', '*.privateKey'];

/** The supervisor's root logger: JSON lines in `logs/codeplane.log`; children per job via `.child({jobId})`. */
export function createRootLogger(logsDir: string, level = process.env['CPL_LOG_LEVEL'] ?? 'info'): Logger {
  mkdirSync(logsDir, { recursive: true });
  // An fd opened here makes the stream ready at once, so an early process.exit cannot race its opening.
  const dest = pino.destination({ fd: openSync(join(logsDir, 'codeplane.log'), 'a'), sync: false });
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid, role: 'supervisor' } }, dest);
}

/** One short readable line per job event, for a human watching the terminal: control characters shown, never obeyed. */
export function consoleLine(e: StoredEvent): string | undefined {
  const line = describeEvent(e);
  return line === undefined ? undefined : terminalSafe(line);
}

function describeEvent(e: StoredEvent): string | undefined {
  const t = e.ts.slice(11, 19);
  const job = e.jobId.slice(-6);
  const ev = e.event;
  switch (ev.type) {
    case 'job_state_changed':
      return `${t} job ${job} ${ev.from} → ${ev.to}${ev.reason ? ` (${ev.reason})` : ''}`;
    case 'approval_requested':
      return `${t} job ${job} needs approval: ${ev.approval.summary}`;
    case 'approval_resolved':
      return `${t} job ${job} approval ${ev.resolution}`;
    case 'job_resolved':
      return `${t} job ${job} resolved: ${ev.resolution}`;
    case 'job_created':
      return `${t} job ${job} created: ${ev.title}`;
    case 'job_restarted':
      return `${t} job ${job} restarted (${ev.kind.replace('_', ' ')})${ev.heldApprovals?.length ? `, ${ev.heldApprovals.length} approval(s) still pending` : ''}`;
    case 'transcript_update':
    case 'log_line':
    case 'diff_update':
    case 'telemetry':
    case 'session_started':
      return undefined;
  }
}
