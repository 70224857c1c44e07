/**
 * The hung-agent watchdog: while a turn runs, it expects some sign of life from the agent's
 * adapter (a transcript entry, telemetry, a log line, a permission request, raw activity).
 * After `timeoutMs` of silence it calls `onSilence` once. Waits that belong to the user (an
 * approval, a job in review) do not count: the worker pauses the watchdog around them, and
 * disarms it between turns. A tool in flight (started, not finished) is silent work the user
 * asked for — `sleep 120`, a long build — so while one runs the limit is `toolTimeoutMs`
 * instead, long but finite: a CLI that hangs inside a tool is still caught. The clock is
 * injected so tests control time; the real one is monotonic (`performance.now()`, CLOCK_MONOTONIC):
 * the wall clock moved back by NTP or by hand must neither delay nor hasten the verdict.
 */
export interface WatchdogClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const realClock: WatchdogClock = {
  now: () => performance.now(),
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
/** The default silence allowed while a tool runs: config `agentToolWatchdogSeconds` (1800). */
export const DEFAULT_TOOL_WATCHDOG_MS = 1_800_000;
export const TOOL_WATCHDOG_ENV = 'CODEPLANE_TOOL_WATCHDOG_MS';

function msFromEnv(env: Record<string, string | undefined>, key: string, fallback: number): number {
  const raw = env[key]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : fallback;
}

/** Reads `CODEPLANE_WATCHDOG_MS`: a non-negative integer (0 turns the watchdog off); anything else gives the default. */
export function watchdogMsFromEnv(env: Record<string, string | undefined>): number {
  return msFromEnv(env, WATCHDOG_ENV, DEFAULT_WATCHDOG_MS);
}

/** Reads `CODEPLANE_TOOL_WATCHDOG_MS`: a non-negative integer (0 = a running tool is never timed out); anything else gives the default. */
export function toolWatchdogMsFromEnv(env: Record<string, string | undefined>): number {
  return msFromEnv(env, TOOL_WATCHDOG_ENV, DEFAULT_TOOL_WATCHDOG_MS);
}

/** "300 s", "1.5 s": the silence in words the user reads in the failure reason. */
export function describeSilence(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** What was silent: the agent itself, or a tool it was running (named when known). */
export type Silence = { silentMs: number; limitMs: number; tool?: { id: string; name: string } };

export class Watchdog {
  private armed = false;
  private holds = 0;
  private fired = false;
  private stopped = false;
  private lastActivity: number;
  private timer: unknown;
  /** Tools started and not finished in this turn, oldest first (Map keeps insertion order). */
  private readonly tools = new Map<string, string>();
  private readonly toolTimeoutMs: number;

  /**
   * `toolTimeoutMs`: the limit while a tool runs; 0 means none (a running tool holds the
   * watchdog like an approval). Never shorter than `timeoutMs`.
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly onSilence: (silence: Silence) => void,
    private readonly clock: WatchdogClock = realClock,
    toolTimeoutMs: number = DEFAULT_TOOL_WATCHDOG_MS,
  ) {
    this.lastActivity = clock.now();
    this.toolTimeoutMs = toolTimeoutMs === 0 ? 0 : Math.max(toolTimeoutMs, timeoutMs);
  }

  /** Counting down right now (a turn runs, nothing holds it, it has not fired, it is enabled). */
  get watching(): boolean {
    const toolHold = this.tools.size > 0 && this.toolTimeoutMs === 0;
    return this.timeoutMs > 0 && this.armed && this.holds === 0 && !toolHold && !this.fired && !this.stopped;
  }

  get hasFired(): boolean {
    return this.fired;
  }

  /** How many tools are running now. */
  get toolsInFlight(): number {
    return this.tools.size;
  }

  /** A turn started (or a message was sent): watch from now (again, if it had fired). */
  arm(): void {
    this.armed = true;
    this.fired = false;
    this.touch();
  }

  /** The turn ended: nothing is expected until the next one, and no tool of it still runs. */
  disarm(): void {
    this.armed = false;
    this.tools.clear();
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

  /** A tool started: until it finishes, the tool limit applies. */
  toolStarted(id: string, name: string): void {
    this.tools.set(id, name);
    this.touch();
  }

  /** A tool finished (or was abandoned). Unknown ids are ignored. */
  toolFinished(id: string): void {
    if (!this.tools.delete(id)) return;
    this.touch();
  }

  /** Never fires again. Idempotent. */
  stop(): void {
    this.stopped = true;
    this.reschedule();
  }

  private get limit(): number {
    return this.tools.size > 0 ? this.toolTimeoutMs : this.timeoutMs;
  }

  private touch(): void {
    this.lastActivity = this.clock.now();
    // The limit may have changed (a tool started or ended): a pending timer re-checks, but it
    // may be due too late for a shorter limit, so start over.
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.reschedule();
  }

  private reschedule(): void {
    if (!this.watching) {
      if (this.timer !== undefined) this.clock.clearTimer(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer !== undefined) return; // the pending timer re-checks the last activity when it fires
    const due = this.lastActivity + this.limit - this.clock.now();
    this.timer = this.clock.setTimer(() => this.check(), Math.max(0, due));
  }

  private check(): void {
    this.timer = undefined;
    if (!this.watching) return;
    const silent = this.clock.now() - this.lastActivity;
    if (silent < this.limit) return this.reschedule();
    this.fired = true;
    const first = this.tools.entries().next();
    const base = { silentMs: silent, limitMs: this.limit };
    this.onSilence(first.done ? base : { ...base, tool: { id: first.value[0], name: first.value[1] } });
  }
}
