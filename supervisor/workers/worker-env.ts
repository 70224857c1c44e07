import { workerEnvFrom } from '../../machines/agent-env.ts';
import type { FileConfig } from '../config.ts';

/**
 * The environment of every job worker: the allow-list of machines/agent-env.ts over the
 * server's environment, plus the settings the worker reads from CodePlane variables (a
 * variable already set in the server's environment wins over the config file, as before).
 */
export function workerEnvFor(serverEnv: NodeJS.ProcessEnv, config: FileConfig, home: string): Record<string, string> {
  const extra: Record<string, string> = { CODEPLANE_HOME: home };
  const unset = (k: string): boolean => !serverEnv[k];
  if (config.agents.claude.path && unset('CODEPLANE_CLAUDE_PATH')) extra['CODEPLANE_CLAUDE_PATH'] = config.agents.claude.path;
  if (config.agents.copilot.path && unset('CODEPLANE_COPILOT_PATH')) extra['CODEPLANE_COPILOT_PATH'] = config.agents.copilot.path;
  if (unset('CODEPLANE_WATCHDOG_MS')) extra['CODEPLANE_WATCHDOG_MS'] = String(config.agentWatchdogSeconds * 1000);
  if (unset('CODEPLANE_TOOL_WATCHDOG_MS')) extra['CODEPLANE_TOOL_WATCHDOG_MS'] = String(config.agentToolWatchdogSeconds * 1000);
  if (config.agents.claude.userConfig && unset('CODEPLANE_CLAUDE_USER_CONFIG')) extra['CODEPLANE_CLAUDE_USER_CONFIG'] = '1';
  if (config.agents.copilot.userConfig && unset('CODEPLANE_COPILOT_USER_CONFIG')) extra['CODEPLANE_COPILOT_USER_CONFIG'] = '1';
  return workerEnvFrom(serverEnv, config.agentEnv, extra);
}
