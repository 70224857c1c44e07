/**
 * Where CodePlane's own files are and how each is run: the package root, its package.json, the
 * browser UI, the job worker's entry and the piscina task modules. This is the ONE place that
 * knows the two layouts apart:
 *
 * - `built`: scripts/build.mjs bundled this module into dist/*.js. Every built file sits directly
 *   in dist/ (entries and shared chunks alike), so the package root is one level up. Everything
 *   runs as plain JavaScript with plain `node`: no tsx, no TypeScript compiler, no bundling at run
 *   time. The npm package runs this layout (its `cpl` is dist/cpl.js).
 * - `sources`: tsx runs this file from supervisor/ (the development loop: `npm start`, the tests).
 *   The root is again one level up; the worker is bundled at start by worker-bundle.ts and the
 *   pool threads load tsx themselves.
 *
 * The layout is told by this module's own file name: only the bundler turns it into a .js file.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type Layout = 'built' | 'sources';
export type TaskName = 'diff-task' | 'git-task';

export interface InstallPaths {
  layout: Layout;
  /** The package's root directory (where package.json is). */
  root: string;
  packageJson: string;
  /** The built browser UI (vite's output), served by api/routes/static.ts. */
  uiDir: string;
  /** The job worker's entry module: dist/worker.js, or workers/main.ts. */
  workerEntry: string;
  /** The file URL of a piscina task module. */
  taskUrl(name: TaskName): string;
  /**
   * Node options of a pool thread. Built: none. Sources: tsx's loader as an absolute file URL (a
   * loader registered on the main thread is not inherited by worker threads in Node 20, and a bare
   * `--import tsx` would resolve against the user's cwd). Explicit in both, so threads never
   * inherit the parent's flags (e.g. `--test`).
   */
  taskExecArgv(): string[];
}

/** The install paths of the module at `moduleUrl` (this module's own URL, or a test's). */
export function installPathsFor(moduleUrl: string): InstallPaths {
  const path = fileURLToPath(moduleUrl);
  const layout: Layout = path.endsWith('.js') ? 'built' : 'sources';
  const root = fileURLToPath(new URL('..', moduleUrl));
  const built = layout === 'built';
  return {
    layout,
    root,
    packageJson: join(root, 'package.json'),
    uiDir: join(root, 'dist', 'ui'),
    workerEntry: built ? join(root, 'dist', 'worker.js') : join(root, 'workers', 'main.ts'),
    taskUrl: (name) => pathToFileURL(built ? join(root, 'dist', `${name}.js`) : join(root, 'workers', 'tasks', `${name}.ts`)).href,
    taskExecArgv: () => (built ? [] : ['--import', pathToFileURL(createRequire(moduleUrl).resolve('tsx')).href]),
  };
}

export const INSTALL: InstallPaths = installPathsFor(import.meta.url);
