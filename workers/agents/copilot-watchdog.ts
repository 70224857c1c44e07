/**
 * Liveness by ping, for when the runtime's child process cannot be observed (an SDK that no
 * longer keeps it where RuntimeProcess looks). A crashed runtime emits nothing, and the SDK only
 * notices on the next call ("Connection is closed"), so we make that call every `intervalMs`.
 * A ping that fails or takes longer than `timeoutMs` declares the runtime dead, once.
 */
export class PingWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private fired = false;

  constructor(
    private readonly ping: () => Promise<unknown>,
    private readonly onDead: (reason: string) => void,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  start(): void {
    if (this.timer || this.fired) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.inFlight || this.fired) return;
    this.inFlight = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to ping within ${this.timeoutMs} ms`)), this.timeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([this.ping(), timeout]);
    } catch (err) {
      if (this.timer === undefined) return; // stopped while the ping was out
      this.fired = true;
      this.stop();
      this.onDead(err instanceof Error ? err.message : String(err));
    } finally {
      clearTimeout(timer);
      this.inFlight = false;
    }
  }
}
