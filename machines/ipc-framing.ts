/**
 * JSON-lines framing for the IPC socket. JSON.stringify escapes newlines in
 * strings, so one message is exactly one line. Pure: the caller feeds chunks.
 */
export const MAX_FRAME_CHARS = 32 * 1024 * 1024;

export const encodeFrame = (message: unknown): string => `${JSON.stringify(message)}\n`;

export class FrameTooLargeError extends Error {
  constructor(size: number) {
    super(`IPC frame of ${size} characters exceeds the ${MAX_FRAME_CHARS} limit`);
    this.name = 'FrameTooLargeError';
  }
}

/** Splits a character stream into lines; keeps the unfinished tail for the next chunk. */
export class LineSplitter {
  private tail = '';

  push(chunk: string): string[] {
    const text = this.tail + chunk;
    const lines = text.split('\n');
    this.tail = lines.pop() ?? '';
    if (this.tail.length > MAX_FRAME_CHARS) throw new FrameTooLargeError(this.tail.length);
    return lines.filter((l) => l.length > 0);
  }
}

/** Parses one line as JSON; `undefined` marks a line that is not JSON at all. */
export function parseFrame(line: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(line) as unknown };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
}
