/**
 * Password hashing one at a time (scrypt takes 128 MiB and a libuv thread
 * each: a flood must not take the machine's memory or its file I/O threads).
 * Excess attempts wait in line, device-cookie holders first; the line is
 * bounded by the limiter's admissions, and `maxWaiting` is a backstop.
 */
export class HashSlots {
  private busy = false;
  private readonly waiting: { priority: boolean; go: () => void }[] = [];

  constructor(private readonly maxWaiting = 64) {}

  /** A release function once it is this caller's turn, or undefined when the line is full. */
  acquire(priority: boolean): Promise<() => void> | undefined {
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve(this.releaser());
    }
    if (!priority && this.waiting.length >= this.maxWaiting) return undefined;
    return new Promise((resolve) => {
      const entry = { priority, go: () => resolve(this.releaser()) };
      const at = priority ? this.waiting.findIndex((w) => !w.priority) : -1;
      if (at < 0) this.waiting.push(entry);
      else this.waiting.splice(at, 0, entry);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next.go();
      else this.busy = false;
    };
  }
}
