import { AppError } from '../../machines/app-error.ts';
import { probeSandbox, type SandboxProbe } from './sandbox-probe.ts';

/**
 * The supervisor's sandbox decision: with `sandbox: "on"` (the default) no agent starts where
 * the sandbox cannot be built. A working sandbox is remembered; a missing one is probed again at
 * the next attempt, so installing bubblewrap fixes it without a restart.
 */
export class SandboxGate {
  private known: Extract<SandboxProbe, { ok: true }> | undefined;

  constructor(
    readonly setting: 'on' | 'off',
    private readonly probe: () => Promise<SandboxProbe> = () => probeSandbox(),
  ) {}

  /** Throws 503 SANDBOX_UNAVAILABLE (the reason and the fix in the message) unless agents can run sandboxed, or the user opted out. */
  async require(): Promise<void> {
    if (this.setting === 'off' || this.known) return;
    const p = await this.probe();
    if (p.ok) {
      this.known = p;
      return;
    }
    throw new AppError('unavailable', 'SANDBOX_UNAVAILABLE', `the agent sandbox is unavailable: ${p.reason}. Fix: ${p.fix}`, { details: { reason: p.code, fix: p.fix } });
  }

  /** Whether jobs run sandboxed (what a job's page shows). */
  get sandboxed(): boolean {
    return this.setting === 'on';
  }
}
