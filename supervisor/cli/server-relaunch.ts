/**
 * `cpl restart` keeps the settings the server was started with: the flags, the environment
 * (CPL_PASSWORD, CODEPLANE_*_PATH, OTEL_*, the agents' credentials) and the directory. They are
 * in memory in the running `cpl up` process only, so that process starts its successor itself,
 * with the same argv, environment and working directory, on the port it actually bound, in the
 * same terminal. Nothing about the run (a password above all) is written to disk for it.
 *
 * The first `cpl up` process stays as the launcher after its first restart: a successor asked to
 * restart exits with RELAUNCH_EXIT_CODE and the launcher starts the next one, so restarts never
 * stack up processes.
 */
import { spawn } from 'node:child_process';

/** EX_TEMPFAIL: "stopped to be started again". */
export const RELAUNCH_EXIT_CODE = 75;

/** Pure: the `cpl` arguments of the successor: the same, with the port fixed to the one bound (`--port 0` picked a free one). */
export function relaunchArgs(argv: readonly string[], port: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--port') {
      i++; // and its value
      continue;
    }
    if (a.startsWith('--port=')) continue;
    out.push(a);
  }
  return [...out, '--port', String(port)];
}

/** True in a successor started by `relaunch` (it has an IPC channel to its launcher). */
export const startedByLauncher = (): boolean => process.channel !== undefined;

/**
 * Called once the server has stopped for a restart. A successor exits so that its launcher starts
 * the next one; the first process starts the successor and from then on only waits, forwarding
 * stop signals, and exits as the last successor does.
 */
export function relaunch(port: number): void {
  if (startedByLauncher()) process.exit(RELAUNCH_EXIT_CODE);
  const script = process.argv[1]!;
  const args = relaunchArgs(process.argv.slice(2), port);
  const start = (): void => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: process.env, cwd: process.cwd() });
    const forward = (signal: NodeJS.Signals) => () => void child.kill(signal);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      if (code === RELAUNCH_EXIT_CODE) start();
      else process.exit(code ?? (signal ? 1 : 0));
    });
  };
  // The launcher's own stop handlers (from `cpl up`) must not run again: the successor owns the server now.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGHUP');
  process.on('SIGHUP', () => undefined); // a closing terminal reaches the successor itself
  start();
}
