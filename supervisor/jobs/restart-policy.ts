/**
 * OTP-style restart intensity: at most `intensity` restarts of one job's
 * worker within `periodMs`; one more means the job keeps crashing and is
 * failed instead. Pure: the caller keeps the history (restart timestamps).
 */
export interface RestartPolicy {
  intensity: number;
  periodMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { intensity: 3, periodMs: 60_000 };

export type RestartDecision =
  | { restart: true; history: number[]; attempt: number }
  | { restart: false; history: number[]; reason: string };

export function decideRestart(history: readonly number[], now: number, policy: RestartPolicy): RestartDecision {
  const recent = history.filter((t) => now - t < policy.periodMs);
  if (recent.length >= policy.intensity)
    return {
      restart: false,
      history: recent,
      reason: `the job worker crashed ${recent.length + 1} times within ${Math.round(policy.periodMs / 1000)} s; giving up (restart budget ${policy.intensity} per ${Math.round(policy.periodMs / 1000)} s)`,
    };
  return { restart: true, history: [...recent, now], attempt: recent.length + 1 };
}
