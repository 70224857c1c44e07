import { accessSync, constants, mkdirSync } from 'node:fs';
import type { Paths } from './paths.ts';

export class HomeError extends Error {
  override name = 'HomeError';
}

/** Creates the data directory tree (private to the user) or explains why it cannot. */
export function prepareHome(paths: Paths): void {
  for (const dir of [paths.home, paths.logs, paths.run, paths.jobs]) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      accessSync(dir, constants.W_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      throw new HomeError(`CodePlane cannot use its data directory ${dir} (${code}). Make it writable, or set CODEPLANE_HOME to a directory you own.`);
    }
  }
}
