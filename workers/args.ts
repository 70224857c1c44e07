import { parseArgs } from 'node:util';
import { isAgentId, type AgentId } from '../machines/job-spec.ts';

export interface WorkerArgs {
  jobId: string;
  socketPath: string;
  home: string;
  /** The job's agent when the supervisor knows it at spawn time: its SDK starts loading at once. */
  agent?: AgentId;
}

/** The worker's command line, written by the supervisor: `--job ID --socket PATH --home DIR [--agent ID]`. */
export function parseWorkerArgs(argv: string[]): WorkerArgs {
  const { values } = parseArgs({
    args: argv,
    options: { job: { type: 'string' }, socket: { type: 'string' }, home: { type: 'string' }, agent: { type: 'string' } },
    strict: true,
  });
  const { job, socket, home, agent } = values;
  if (!job || !socket || !home) throw new Error('usage: worker --job ID --socket PATH --home DIR [--agent ID]');
  if (agent !== undefined && !isAgentId(agent)) throw new Error(`unknown agent ${agent}`);
  return { jobId: job, socketPath: socket, home, ...(agent ? { agent } : {}) };
}
