/**
 * How the previous server stopped, so the next one can tell a graceful stop (cpl down, SIGTERM:
 * the workers checkpointed) from a lost one (a reboot, kill -9 of everything: no record) when it
 * restarts the jobs, and name the restart in each job's transcript. One small file in run/,
 * written last on the way out, read and removed at start.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Paths } from '../paths.ts';

export type StopMode = 'checkpoint' | 'detach';

const fileOf = (paths: Paths): string => join(paths.run, 'last-stop.json');

export function recordStop(paths: Paths, mode: StopMode): void {
  try {
    writeFileSync(fileOf(paths), JSON.stringify({ mode, at: new Date().toISOString() }), { mode: 0o600 });
  } catch {
    // A full disk on the way out: the next start calls the stop lost, which only words the transcript line.
  }
}

/** The previous stop's mode, or undefined when it did not stop gracefully. Removes the record. */
export function takeStopRecord(paths: Paths): StopMode | undefined {
  const file = fileOf(paths);
  let mode: unknown;
  try {
    mode = (JSON.parse(readFileSync(file, 'utf8')) as { mode?: unknown }).mode;
  } catch {
    mode = undefined;
  }
  rmSync(file, { force: true });
  return mode === 'checkpoint' || mode === 'detach' ? mode : undefined;
}
