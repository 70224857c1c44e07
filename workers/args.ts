import { parseArgs } from 'node:util';

export interface WorkerArgs {
  jobId: string;
  socketPath: string;
  home: string;
}

/** The worker's command line, written by the supervisor: `--job ID --socket PATH --home DIR`. */
export function parseWorkerArgs(argv: string[]): WorkerArgs {
  const { values } = parseArgs({
    args: argv,
    options: { job: { type: 'string' }, socket: { type: 'string' }, home: { type: 'string' } },
    strict: true,
  });
  const { job, socket, home } = values;
  if (!job || !socket || !home) throw new Error('usage: worker --job ID --socket PATH --home DIR');
  return { jobId: job, socketPath: socket, home };
}
