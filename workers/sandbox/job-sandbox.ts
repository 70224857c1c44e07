import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { JobSpec } from '../../machines/job-spec.ts';
import { createAgentSandbox, type AgentSandbox } from './agent-sandbox.ts';
import { sandboxSettingFromEnv } from './sandbox-setting.ts';

export interface JobSandboxContext {
  /** The worker's environment (the supervisor's exports: CODEPLANE_SANDBOX, CODEPLANE_BWRAP, CODEPLANE_HOME, CODEPLANE_WORKTREES_DIR, HOME). */
  env: Record<string, string | undefined>;
  /** `<CODEPLANE_HOME>/jobs/<id>`: the launcher goes here, hidden from the sandbox. */
  jobDir: string;
  agentHome: string;
  userConfig: boolean;
}

/** The job's sandbox, or undefined when the user turned it off. */
export function agentSandboxFor(spec: JobSpec, c: JobSandboxContext): AgentSandbox | undefined {
  const setting = sandboxSettingFromEnv(c.env);
  if (setting.mode === 'off') return undefined;
  const codeplaneHome = c.env['CODEPLANE_HOME']?.trim() || dirname(dirname(c.jobDir));
  const configuredAgentDir = (spec.agent === 'claude' ? c.env['CLAUDE_CONFIG_DIR'] : c.env['COPILOT_HOME'])?.trim();
  return createAgentSandbox(
    setting.bwrap,
    {
      spec,
      codeplaneHome,
      worktreesRoot: c.env['CODEPLANE_WORKTREES_DIR']?.trim() || join(codeplaneHome, 'worktrees'),
      userHome: c.env['HOME']?.trim() || homedir(),
      agentHome: c.agentHome,
      userConfig: c.userConfig,
      ...(configuredAgentDir ? { configuredAgentDir } : {}),
    },
    join(c.jobDir, 'sandbox'),
  );
}
