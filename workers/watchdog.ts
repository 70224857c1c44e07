/**
 * The hung-agent watchdog: while a turn runs, it expects some sign of life from the agent's
 * adapter (a transcript entry, telemetry, a log line, a permission request). After
 * `timeoutMs` of silence it calls `onSilence` once. Waits that belong to the user (an
 * approval, a job in review) do not count: the worker pauses the watchdog around them, and
 * disarms it between turns. The clock is injected so tests control time.
 */
export interface WatchdogClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const realClock: WatchdogClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** The default silence allowed while a turn runs: config `agentWatchdogSeconds` (600). */
export const DEFAULT_WATCHDOG_MS = 600_000;
export const WATCHDOG_ENV = 'CODEPLANE_WATCHDOG_MS';

/** Reads `CODEPLANE_WATCHDOG_MS`: a non-negative integer (0 turns the watchdog off); anything else gives the default. */
export function watchdogMsFromEnv(env: Record<string, string | undefined>): number {
  const raw = env[WATCHDOG_ENV]?.trim();
  if (!raw) return DEFAULT_WATCHDOG_MS;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : DEFAULT_WATCHDOG_MS;
}

/** "300 s", "1.5 s": the silence in words the user reads in the failure reason. */
export function describeSilence(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

export class Watchdog {
  private armed = false;
  private holds = 0;
  private fired = false;
  private stopped = false;
  private lastActivity: number;
  private timer: unknown;

  constructor(
    private readonly timeoutMs: number,
    private readonly onSilence: (silentMs: number) => void,
    private readonly clock: WatchdogClock = realClock,
  ) {
    this.lastActivity = clock.now();
  }

  /** Counting down right now (a turn runs, nothing holds it, it has not fired, it is enabled). */
  get watching(): boolean {
    return this.timeoutMs > 0 && this.armed && this.holds === 0 && !this.fired && !this.stopped;
  }

  get hasFired(): boolean {
    return this.fired;
  }

  /** A turn started (or a message was sent): watch from now (again, if it had fired). */
  arm(): void {
    this.armed = true;
    this.fired = false;
    this.touch();
  }

  /** The turn ended: nothing is expected until the next one. */
  disarm(): void {
    this.armed = false;
    this.reschedule();
  }

  /** A sign of life. Cheap: it only records the time; the timer catches up when it fires. */
  activity(): void {
    this.lastActivity = this.clock.now();
  }

  /** Stop counting until the matching `resume()` (holds nest: several approvals may be open). */
  pause(): void {
    this.holds += 1;
    this.reschedule();
  }

  /** The wait is over; the agent gets a full window from now. */
  resume(): void {
    if (this.holds === 0) return;
    this.holds -= 1;
    this.touch();
  }

  /** Never fires again. Idempotent. */
  stop(): void {
    this.stopped = true;
    this.reschedule();
  }

  private touch(): void {
    this.lastActivity = this.clock.now();
    this.reschedule();
  }

  private reschedule(): void {
    if (!this.watching) {
      if (this.timer !== undefined) this.clock.clearTimer(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer !== undefined) return; // the pending timer re-checks the last activity when it fires
    const due = this.lastActivity + this.timeoutMs - this.clock.now();
    this.timer = this.clock.setTimer(() => this.check(), Math.max(0, due));
  }

  private check(): void {
    this.timer = undefined;
    if (!this.watching) return;
    const silent = this.clock.now() - this.lastActivity;
    if (silent < this.timeoutMs) return this.reschedule();
    this.fired = true;
    this.onSilence(silent);
  }
}
