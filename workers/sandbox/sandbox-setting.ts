/**
 * The worker's sandbox setting, exported by the supervisor (config `sandbox`, `bwrapPath`):
 * `CODEPLANE_SANDBOX=off` runs agents without it; anything else, unset included, runs them in it
 * (fail closed: a worker that was not told never runs an agent unsandboxed).
 * `CODEPLANE_BWRAP` is the bubblewrap binary the supervisor checked; without it, `bwrap` from PATH
 * (a missing one fails the agent's start with the spawn error: never a silent fallback).
 */
export type SandboxSetting = { mode: 'off' } | { mode: 'on'; bwrap: string };

export function sandboxSettingFromEnv(env: Record<string, string | undefined>): SandboxSetting {
  if (env['CODEPLANE_SANDBOX']?.trim().toLowerCase() === 'off') return { mode: 'off' };
  const bwrap = env['CODEPLANE_BWRAP']?.trim();
  return { mode: 'on', bwrap: bwrap ? bwrap : 'bwrap' };
}

/** The transcript note of a job whose agent runs without the sandbox. */
export const UNSANDBOXED_NOTE =
  'This job runs WITHOUT the operating-system sandbox (config "sandbox": "off"): the agent and every command it runs can read and write whatever your user can. Only the permission policy stands between them and your files.';
