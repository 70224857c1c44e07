import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sandboxedCommand } from '../../machines/bwrap-args.ts';
import { sandboxFacts, type SandboxInputs } from './sandbox-facts.ts';

/**
 * One job's sandbox, as the agent adapters use it. The facts are gathered again at every spawn:
 * a worktree recreated or a ref packed since the last one is seen as it is now.
 */
export interface AgentSandbox {
  /** The job's own agent home (also the agent's config dir under the sandbox). */
  readonly agentHome: string;
  /** What to spawn instead of `command args…`: bubblewrap running it inside the sandbox. */
  wrap(command: string, args: readonly string[]): { command: string; args: string[] };
  /**
   * Writes an executable at `file` that runs `command…` (plus the arguments it is given) inside
   * the sandbox, for an SDK that spawns a CLI path itself (Copilot): `exec`, so no extra process
   * sits between the SDK and bubblewrap and signals reach it.
   */
  writeLauncher(file: string, command: readonly string[]): string;
  /** Where a launcher named `name` goes: outside everything the sandbox can write (it runs OUTSIDE the sandbox). */
  launcherPath(name: string): string;
}

/** Single-quoted for sh: the only character that needs care inside single quotes is the quote itself. */
export const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function createAgentSandbox(bwrap: string, inputs: SandboxInputs, launcherDir: string): AgentSandbox {
  return {
    agentHome: inputs.agentHome,
    launcherPath: (name) => join(launcherDir, name),
    wrap: (command, args) => sandboxedCommand(bwrap, sandboxFacts(inputs, [command, ...args]), command, args),
    writeLauncher: (file, command) => {
      const [head, ...rest] = command;
      if (head === undefined) throw new Error('sandbox launcher: no command');
      const wrapped = sandboxedCommand(bwrap, sandboxFacts(inputs, command), head, rest);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, `#!/bin/sh\nexec ${[wrapped.command, ...wrapped.args].map(shQuote).join(' ')} "$@"\n`, { mode: 0o700 });
      chmodSync(file, 0o700);
      return file;
    },
  };
}
