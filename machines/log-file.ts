/**
 * The destination every CodePlane log (supervisor and workers) writes to: a
 * file that may fill up. Logging must never take the process down nor hang
 * it: a line that cannot be written (ENOSPC on a full disk, EIO, EDQUOT, a
 * file too large …) is dropped and counted, and once writing works again one
 * line says how many were lost. No retry loop anywhere: pino's own file
 * stream retried a failed write forever in its exit hook, which left a
 * supervisor on a full disk holding its port and answering nothing.
 *
 * Lines are buffered for the current turn of the event loop and written with
 * one synchronous write at its end (or sooner, past a size bound), so a burst
 * costs one system call and nothing is written out of order.
 */
import { writeSync } from 'node:fs';

/** Past this many buffered bytes the buffer is written at once rather than at the end of the turn. */
const FLUSH_BYTES = 64 * 1024;

const open = new Set<LogFile>();
let exitHooked = false;

export class LogFile {
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  /** Lines dropped since the last report of them, and in total. */
  private unreported = 0;
  private droppedTotal = 0;
  private lastError = '';
  /** A write failed part-way: the next one first ends the torn line so the file stays one JSON object per line. */
  private torn = false;

  constructor(private readonly fd: number) {
    open.add(this);
    if (!exitHooked) {
      exitHooked = true;
      // One attempt per file at exit; a failure drops the lines like any other.
      process.once('exit', () => {
        for (const f of open) f.flushSync();
      });
    }
  }

  /** pino's stream interface: one serialised line (with its newline) per call. Never throws. */
  write(line: string): boolean {
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flushSync();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flushSync();
      });
    }
    return true;
  }

  /** pino calls it from `logger.flush(cb)`. */
  flush(cb?: (err?: Error) => void): void {
    this.flushSync();
    cb?.();
  }

  /** Writes what is buffered now, once: what the file refuses is dropped and counted, never retried. */
  flushSync(): void {
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    let i = 0;
    try {
      if (this.unreported > 0) this.writeAll(this.droppedLine());
      this.unreported = 0;
      for (; i < lines.length; i++) this.writeAll(lines[i]!);
    } catch (e) {
      const dropped = lines.length - i;
      this.unreported += dropped;
      this.droppedTotal += dropped;
      this.lastError = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : String(e);
    }
  }

  /** How many lines could not be written since this file was opened. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Stops writing (buffered lines are written first, once). */
  close(): void {
    this.flushSync();
    open.delete(this);
  }

  private writeAll(text: string): void {
    const buf = Buffer.from(this.torn ? `\n${text}` : text, 'utf8');
    let off = 0;
    while (off < buf.length) {
      // Advances on every successful call; a failing call throws, so this is not a retry loop.
      const n = writeSync(this.fd, buf, off, buf.length - off);
      if (n <= 0) throw Object.assign(new Error('log write made no progress'), { code: 'ENOSPC' });
      off += n;
      this.torn = off < buf.length;
    }
    this.torn = false;
  }

  private droppedLine(): string {
    return `${JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, msg: `${this.unreported} log line(s) were dropped: the log file could not be written (${this.lastError})`, logLinesDropped: this.droppedTotal })}\n`;
  }
}
