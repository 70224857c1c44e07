/**
 * The job worker process: one per job, detached from the supervisor so it
 * survives a supervisor crash. It listens on its own socket, runs the job's
 * statechart and agent, and exits once the job is over and every event has
 * been acknowledged.
 */
import { join } from 'node:path';
import { WorkerChannel } from './channel.ts';
import { parseWorkerArgs } from './args.ts';
import { loadAdapter } from './agents/registry.ts';
import { JobRunner, type Command } from './job-runner.ts';
import { createWorkerLogger } from './log.ts';
import { createRedactor, secretValuesFrom } from '../machines/redact.ts';

const START_TIMEOUT_MS = 30_000;
const args = parseWorkerArgs(process.argv.slice(2));
/** Secrets out of every event and log line this worker writes: token shapes, and its secret variables' values. */
const redactor = createRedactor(secretValuesFrom(process.env));
const log = createWorkerLogger(args.home, args.jobId, redactor);
let runner: JobRunner | undefined;
let finishing = false;

/** The agent's adapter (and its SDK) starts loading at launch when the supervisor named the agent. */
const preloaded = args.agent ? loadAdapter(args.agent) : undefined;
preloaded?.catch(() => undefined); // a failure surfaces when `start` awaits it

/** Set from the `start` message until the runner exists (the agent's adapter loads meanwhile). */
let starting: Promise<void> | undefined;
/** Commands that arrived while the adapter was loading: replayed, in order, once the runner exists. */
const early: Command[] = [];

const channel = new WorkerChannel(args.socketPath, args.jobId, {
  isStarted: () => runner !== undefined || starting !== undefined,
  pendingApprovals: () => runner?.pendingApprovals() ?? [],
  log: (level, message) => log[level](message),
  onCommand: (msg) => {
    if (msg.type !== 'start') {
      if (runner) return runner.command(msg);
      if (starting) return void early.push(msg);
      return channel.send({ type: 'command_rejected', command: msg.type, code: 'NOT_STARTED', message: 'the job has not started' });
    }
    if (runner || starting) return channel.send({ type: 'command_rejected', command: 'start', code: 'ALREADY_STARTED', message: 'the job already runs' });
    clearTimeout(startTimer);
    starting = (preloaded && args.agent === msg.spec.agent ? preloaded : loadAdapter(msg.spec.agent)).then(
      (adapter) => {
        runner = new JobRunner(msg, adapter, {
          flush: () => channel.scheduleFlush(),
          send: (m) => channel.send(m),
          finished: () => void finish(),
          checkpoint: (reason) => void checkpoint(reason),
          spillFile: join(args.home, 'jobs', args.jobId, 'outbox-spill.jsonl'),
          jobDir: join(args.home, 'jobs', args.jobId),
          redactor,
        });
        channel.setOutbox(runner.outbox);
        log.info({ agent: msg.spec.agent, worktree: msg.spec.worktreePath }, 'job starting');
        runner.start();
        for (const m of early.splice(0)) runner.command(m);
      },
      (e: unknown) => {
        // Nothing can run without the adapter: exit, and the supervisor's restart policy takes over.
        log.fatal({ err: e }, 'could not load the agent adapter');
        log.flush();
        process.exit(1);
      },
    );
  },
});

async function finish(): Promise<void> {
  if (finishing || !runner) return;
  finishing = true;
  await runner.agentClosed();
  await runner.outbox.drained(); // wait for the supervisor to persist everything
  log.info('job over; worker exiting');
  await channel.close();
  log.flush();
  process.exit(0);
}

/** Server shutdown, or a job idle in review: close the agent session (its id is already persisted), flush events, exit. */
async function checkpoint(reason: string): Promise<void> {
  if (finishing || !runner) return;
  finishing = true;
  log.info({ reason }, 'checkpointing: the agent session closes, the job keeps its state');
  runner.stop();
  await runner.agentClosed();
  await Promise.race([runner.outbox.drained(), new Promise((r) => setTimeout(r, 3000))]);
  await channel.close();
  log.flush();
  process.exit(0);
}

const startTimer = setTimeout(() => {
  log.error('no supervisor started this job in time; exiting');
  process.exit(2);
}, START_TIMEOUT_MS);

process.on('uncaughtException', (e) => {
  log.fatal({ err: e }, 'worker crashed');
  process.stderr.write(`worker crashed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
process.on('unhandledRejection', (e) => {
  log.fatal({ err: e }, 'unhandled rejection in worker');
  process.stderr.write(`worker crashed: ${String(e)}\n`);
  process.exit(1);
});

await channel.listen();
log.info({ socket: args.socketPath }, 'worker listening');
process.stdout.write('ready\n');
