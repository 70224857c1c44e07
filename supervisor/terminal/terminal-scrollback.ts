/**
 * The last N characters a terminal printed, replayed to each new attachment so
 * a reconnecting browser (or a second tab) sees what happened meanwhile.
 * Chunks are kept as they came (no copying per write); trimming drops whole
 * chunks from the front and cuts the first survivor at a line start, so a
 * replay never begins inside an escape sequence or a surrogate pair when a
 * line break is near.
 */
export const DEFAULT_SCROLLBACK_CHARS = 256 * 1024;
/** How far past the cut to look for a line start before settling for a raw cut. */
const LINE_SEARCH = 4096;

export class TerminalScrollback {
  private chunks: string[] = [];
  private length = 0;

  constructor(private readonly limit = DEFAULT_SCROLLBACK_CHARS) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`scrollback limit must be a positive integer, not ${limit}`);
  }

  append(chunk: string): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length > this.limit) this.trim();
  }

  /** Everything kept, oldest first. Joins once and keeps the result, so repeated replays cost nothing extra. */
  text(): string {
    if (this.chunks.length > 1) this.chunks = [this.chunks.join('')];
    return this.chunks[0] ?? '';
  }

  get size(): number {
    return this.length;
  }

  private trim(): void {
    let excess = this.length - this.limit;
    while (excess > 0 && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      if (first.length <= excess) {
        this.chunks.shift();
        this.length -= first.length;
        excess -= first.length;
        continue;
      }
      let cut = excess;
      const nl = first.indexOf('\n', cut);
      if (nl !== -1 && nl - cut < LINE_SEARCH) cut = nl + 1;
      else if (isLowSurrogate(first.charCodeAt(cut))) cut += 1; // never split a surrogate pair
      this.chunks[0] = first.slice(cut);
      this.length -= cut;
      excess = 0;
    }
    if (this.chunks[0] === '') this.chunks.shift();
  }
}

const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;
