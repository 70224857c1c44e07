import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { StoredEvent } from '../api/contract.ts';
import { LogFile } from '../machines/log-file.ts';
import { redactJsonLine, type Redactor } from '../machines/redact.ts';
import { terminalSafe } from './terminal/terminal-text.ts';

const REDACT = ['password', '*.password', 'token', '*.token', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.cookie', 'privateKey', '*.privateKey'];

/** The supervisor's root logger: JSON lines in `logs/codeplane.log`; children per job via `.child({jobId})`. */
export function createRootLogger(logsDir: string, level = process.env['CPL_LOG_LEVEL'] ?? 'info'): Logger {
  return openRootLog(logsDir, level).log;
}

/**
 * The same, with its file: what a full disk made it drop (`/api/health` reports it). With a
 * redactor, each line is redacted as it is written (a worker's stderr tail, an error quoting a token).
 */
export function openRootLog(logsDir: string, level = process.env['CPL_LOG_LEVEL'] ?? 'info', redactor?: Redactor): { log: Logger; file: LogFile } {
  mkdirSync(logsDir, { recursive: true });
  // A full disk drops lines (counted) instead of throwing or spinning: see machines/log-file.ts.
  const file = new LogFile(openSync(join(logsDir, 'codeplane.log'), 'a'));
  const hooks = redactor ? { hooks: { streamWrite: (line: string) => redactJsonLine(line, redactor) } } : {};
  return { log: pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid, role: 'supervisor' }, ...hooks }, file), file };
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
