import type { LogLevel } from '../../machines/domain-events.ts';

const TAIL_CHARS = 2000;

/**
 * An agent CLI's stderr, split into lines for `log_line` events (never our
 * console) and kept as a short tail for crash reasons.
 */
export class StderrLines {
  private tailText = '';
  private partialLine = '';

  constructor(
    private readonly log: (level: LogLevel, message: string) => void,
    private readonly warnLine: RegExp,
  ) {}

  push(chunk: string): void {
    this.tailText = (this.tailText + chunk).slice(-TAIL_CHARS);
    const lines = (this.partialLine + chunk).split('\n');
    this.partialLine = lines.pop() ?? '';
    for (const line of lines) this.emit(line);
  }

  /** Emits a last line that had no newline (the process ended). */
  flush(): void {
    const rest = this.partialLine;
    this.partialLine = '';
    if (rest) this.emit(rest);
  }

  get tail(): string {
    return this.tailText.trim();
  }

  private emit(line: string): void {
    const text = line.replace(/\r$/, '');
    if (text.trim()) this.log(this.warnLine.test(text) ? 'warn' : 'info', text);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Whether `exited` settles within `ms`. */
export async function exitsWithin(exited: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([exited.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
