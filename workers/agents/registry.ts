import type { AgentId } from '../../machines/job-spec.ts';
import { assertNever } from '../../machines/decode.ts';
import type { AgentAdapter } from './adapter.ts';

/**
 * The one place that knows which adapter serves which agent id. Loaded on
 * demand: each SDK is large, and a worker runs exactly one agent.
 */
export async function loadAdapter(id: AgentId): Promise<AgentAdapter> {
  switch (id) {
    case 'claude':
      return (await import('./claude.ts')).claudeAdapter;
    case 'copilot':
      return (await import('./copilot.ts')).copilotAdapter;
    default:
      return assertNever(id, 'agent');
  }
}

/** The CLI binary to use instead of the SDK's bundled one (env wins; the supervisor exports config values). */
export function executablePathFor(id: AgentId): string | undefined {
  const v = id === 'claude' ? process.env['CODEPLANE_CLAUDE_PATH'] : process.env['CODEPLANE_COPILOT_PATH'];
  return v && v.trim() !== '' ? v : undefined;
}

/**
 * Whether jobs of this agent load the user's own agent configuration (env wins; the supervisor
 * exports config `agents.<id>.userConfig` as `CODEPLANE_<AGENT>_USER_CONFIG=1`).
 */
export function userConfigFor(id: AgentId): boolean {
  const v = id === 'claude' ? process.env['CODEPLANE_CLAUDE_USER_CONFIG'] : process.env['CODEPLANE_COPILOT_USER_CONFIG'];
  return v?.trim() === '1' || v?.trim().toLowerCase() === 'true';
}
