import type { AgentId } from '../../machines/job-spec.ts';
import { assertNever } from '../../machines/decode.ts';
import type { AgentAdapter } from './adapter.ts';
import { claudeAdapter } from './claude.ts';
import { copilotAdapter } from './copilot.ts';

/** The one place that knows which adapter serves which agent id. */
export function adapterFor(id: AgentId): AgentAdapter {
  switch (id) {
    case 'claude':
      return claudeAdapter;
    case 'copilot':
      return copilotAdapter;
    default:
      return assertNever(id, 'agent');
  }
}

/** The CLI binary to use instead of the SDK's bundled one (env wins; the supervisor exports config values). */
export function executablePathFor(id: AgentId): string | undefined {
  const v = id === 'claude' ? process.env['CODEPLANE_CLAUDE_PATH'] : process.env['CODEPLANE_COPILOT_PATH'];
  return v && v.trim() !== '' ? v : undefined;
}
