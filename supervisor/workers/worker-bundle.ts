/**
 * How a job worker process is launched. From the built package (install-paths.ts, layout `built`)
 * the worker is dist/worker.js, built with everything else by scripts/build.mjs: nothing is
 * bundled at run time. What follows is the development loop's (layout `sources`). Running the TypeScript sources
 * through tsx costs every worker a loader thread and a compile pass (about
 * 40 MB of resident memory and a second or more of start-up on a busy
 * machine), so the supervisor builds the worker once into plain ES modules
 * with esbuild and spawns those. Dependencies stay external (resolved from
 * node_modules as usual), and each agent SDK lands in its own chunk so a
 * Claude job never loads the Copilot SDK and vice versa.
 *
 * The bundle lives under dist/worker/<hash of the sources>/, so a changed
 * source gets a new directory, concurrent servers cannot clobber each other's
 * build (each renames a finished build into place; the loser reuses the
 * winner's), and a worker that outlived the server keeps its own files.
 * Without esbuild, or if the build fails, workers run through tsx as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { INSTALL } from '../install-paths.ts';

const ROOT = INSTALL.root;
const WORKER_SOURCE = INSTALL.workerEntry;
/** Everything the worker's import graph can reach (a superset is fine: it only decides when to rebuild). */
const SOURCE_DIRS = ['workers', 'machines', 'supervisor/git'];
const OUT_ROOT = join(ROOT, 'dist/worker');
const KEEP_BUILDS = 3;

/**
 * V8 settings of every worker, measured on workers streaming 4,000 deltas each and idle in
 * review: a young generation of 1 MB semispaces instead of up to 16 MB cost 15 % less CPU (a
 * worker's objects die young, and the nursery stays in cache) and left 5 MB (idle) to 12 MB
 * (after streaming) less resident memory; one V8 background thread instead of four, 1 to 3 MB
 * less. A worker is single-threaded JavaScript waiting on I/O.
 */
const WORKER_V8_FLAGS = ['--max-semi-space-size=1', '--v8-pool-size=1'];

/**
 * Node arguments that run a worker without building anything: the built worker in the package,
 * its TypeScript sources through tsx in development.
 */
export function defaultWorkerArgs(): string[] {
  if (INSTALL.layout === 'built') return [...WORKER_V8_FLAGS, INSTALL.workerEntry];
  return [...WORKER_V8_FLAGS, '--import', import.meta.resolve('tsx'), WORKER_SOURCE];
}

function sourceHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts')) h.update(p.slice(ROOT.length)).update('\0').update(readFileSync(p)).update('\0');
    }
  };
  for (const d of SOURCE_DIRS) walk(join(ROOT, d));
  return h.digest('hex').slice(0, 16);
}

/** Drops all but the newest few builds (a running worker's own build is among the newest). */
function pruneOldBuilds(keep: string): void {
  const dirs = readdirSync(OUT_ROOT)
    .map((name) => ({ name, mtime: statSync(join(OUT_ROOT, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const d of dirs.slice(KEEP_BUILDS)) if (d.name !== keep) rmSync(join(OUT_ROOT, d.name), { recursive: true, force: true });
}

/**
 * Node arguments that run a worker: the built package's worker; from sources, the bundle (built
 * now if the sources changed), or the tsx fallback. `CODEPLANE_WORKER_TSX=1` forces the fallback.
 */
export async function workerLaunchArgs(log: Logger): Promise<string[]> {
  if (INSTALL.layout === 'built' || process.env['CODEPLANE_WORKER_TSX'] === '1') return defaultWorkerArgs();
  try {
    const hash = sourceHash();
    const dir = join(OUT_ROOT, hash);
    const entry = join(dir, 'main.js');
    if (!existsSync(entry)) {
      const { build } = await import('esbuild');
      const tmp = join(OUT_ROOT, `.build-${process.pid}-${Date.now()}`);
      mkdirSync(OUT_ROOT, { recursive: true });
      const t0 = performance.now();
      await build({
        entryPoints: { main: WORKER_SOURCE },
        outdir: tmp,
        bundle: true,
        splitting: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        packages: 'external',
        sourcemap: 'linked',
        outExtension: { '.js': '.js' },
        // Relative imports of node_modules must resolve from the repository root, as in the sources.
        banner: { js: '// Built by supervisor/workers/worker-bundle.ts from workers/; do not edit.' },
        logLevel: 'silent',
      });
      // package.json says "type": "module", but dist/ has none of its own: mark the directory ESM.
      await import('node:fs/promises').then((fs) => fs.writeFile(join(tmp, 'package.json'), '{ "type": "module" }\n'));
      try {
        renameSync(tmp, dir);
      } catch {
        rmSync(tmp, { recursive: true, force: true }); // another server finished the same build first
      }
      log.info({ dir, ms: Math.round(performance.now() - t0) }, 'built the job worker bundle');
      pruneOldBuilds(hash);
    }
    return [...WORKER_V8_FLAGS, '--enable-source-maps', entry];
  } catch (e) {
    log.warn({ err: e }, 'could not build the job worker bundle; workers run through tsx');
    return defaultWorkerArgs();
  }
}
