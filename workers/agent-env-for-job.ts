import { agentEnvFrom, agentEnvPatternsFrom, type Env } from '../machines/agent-env.ts';
import type { AgentId } from '../machines/job-spec.ts';
import { COPILOT_PROVIDER_ENV } from './agents/copilot-provider.ts';

/**
 * The environment the job's agent adapter gets from the worker's: the allow-list with the
 * user's `agentEnv` patterns (machines/agent-env.ts), plus what the adapter itself consumes.
 */
export function agentEnvForJob(agent: AgentId, workerEnv: Env): Record<string, string> {
  const env = agentEnvFrom(workerEnv, agentEnvPatternsFrom(workerEnv));
  // Claude Code's Bash keeps a cwd between calls; the policy assumes each command starts in the worktree.
  if (agent === 'claude') env['CLAUDE_BASH_MAINTAIN_PROJECT_WORKING_DIR'] = '1';
  // The Copilot adapter reads its BYOK provider here and removes it before starting the runtime
  // (workers/agents/copilot.ts): the key travels in session.create, never in the agent's env.
  const provider = workerEnv[COPILOT_PROVIDER_ENV];
  if (agent === 'copilot' && provider !== undefined) env[COPILOT_PROVIDER_ENV] = provider;
  return env;
}
