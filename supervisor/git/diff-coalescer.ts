/**
 * At most one diff computation in flight per job; bursts collapse.
 *
 * WHY: an agent editing files triggers a "diff may have changed" signal per
 * tool call, often dozens a second. Each computation stages the whole
 * worktree, so queueing one per signal would fall ever further behind.
 * Instead, requests that arrive while a computation runs set a dirty flag and
 * exactly ONE follow-up run starts when it finishes; it sees every change the
 * collapsed requests were about. `flush()` is for the moment that matters
 * (entering review): it resolves with a result computed entirely AFTER the
 * call, never a stale in-flight one.
 */
interface KeyState<T> {
  dirty: boolean;
  /** flush() callers waiting for the next run to start after their call. */
  next: Array<{ resolve: (r: T) => void; reject: (e: unknown) => void }>;
  done: Promise<void>;
}

export interface DiffCoalescerOptions<T> {
  compute: (key: string) => Promise<T>;
  /** Every completed computation (from request() or flush()). */
  onResult?: (key: string, result: T) => void;
  /** A failed computation started by request(); flush() callers get the rejection instead. */
  onError?: (key: string, error: unknown) => void;
}

export class DiffCoalescer<T> {
  private readonly states = new Map<string, KeyState<T>>();

  constructor(private readonly opts: DiffCoalescerOptions<T>) {}

  /** Asks for a fresh computation; returns at once. */
  request(key: string): void {
    const s = this.states.get(key);
    if (s) s.dirty = true;
    else this.start(key, []);
  }

  /** A computation that starts after this call; its result. */
  flush(key: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const s = this.states.get(key);
      if (s) {
        s.dirty = true;
        s.next.push({ resolve, reject });
      } else this.start(key, [{ resolve, reject }]);
    });
  }

  isRunning(key: string): boolean {
    return this.states.has(key);
  }

  /** Resolves once no computation is running or pending for `key` (or for any key). */
  async idle(key?: string): Promise<void> {
    for (;;) {
      const s = key === undefined ? [...this.states.values()][0] : this.states.get(key);
      if (!s) return;
      await s.done;
    }
  }

  private start(key: string, waiters: KeyState<T>['next']): void {
    const s: KeyState<T> = { dirty: true, next: waiters, done: Promise.resolve() };
    this.states.set(key, s);
    s.done = this.loop(key, s);
  }

  private async loop(key: string, s: KeyState<T>): Promise<void> {
    // Yield once so a synchronous burst of request() calls collapses into this first run.
    await Promise.resolve();
    while (s.dirty) {
      s.dirty = false;
      const waiters = s.next;
      s.next = [];
      try {
        const result = await this.opts.compute(key);
        this.safe(() => this.opts.onResult?.(key, result));
        for (const w of waiters) w.resolve(result);
      } catch (e) {
        if (waiters.length) for (const w of waiters) w.reject(e);
        else this.safe(() => this.opts.onError?.(key, e));
      }
    }
    this.states.delete(key);
  }

  /** A throwing callback must not wedge the loop (the key would stay "running" forever). */
  private safe(fn: () => void): void {
    try {
      fn();
    } catch {
      /* the callback's own bug; the next request still runs */
    }
  }
}
