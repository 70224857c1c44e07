#!/usr/bin/env node
// `npm run build`: what the npm package runs, as plain JavaScript under dist/ (see
// supervisor/install-paths.ts for the layout):
//   dist/cpl.js        the CLI and server (supervisor/cli/cli.ts), the package's `cpl`
//   dist/worker.js     the job worker process (workers/main.ts)
//   dist/diff-task.js, dist/git-task.js   the piscina pool's task modules (workers/tasks/)
//   dist/chunk-*.js, dist/<name>-*.js     shared code and lazily loaded modules
//   dist/ui/           the browser UI (vite)
// Built with esbuild (measured: about 0.1 s for 22 files, against 2.8 s and 363 files for tsc's
// per-file emit of the whole tree; one bundle also means fewer files for node to load at start).
// Dependencies stay external, resolved from node_modules at run time like the sources' (native
// modules such as better-sqlite3 and node-pty must be; the agent SDKs find their CLI binaries
// next to their own files; piscina and pino start threads from their own files), except the few
// in BUNDLED. The build fails if the output imports a package that is not in package.json
// `dependencies` (so dev tooling can never be needed at run time), or if a dependency is imported
// by nothing in the output (so an install downloads and builds only what runs).
//
//   node scripts/build.mjs [--server-only | --ui-only]
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { externalProblems, packageName, unusedDependencies } from './build-externals.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const args = process.argv.slice(2);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * Pure JavaScript dependencies compiled into dist/ instead of loaded from node_modules. Measured on
 * the idle server (bench `startup`): kysely's ESM build is 262 small modules, and loading them as
 * one bundled module leaves about 8 MB less resident memory. They stay in `dependencies` (the
 * development loop runs the sources, which import them).
 */
const BUNDLED = new Set(['kysely']);

/** Every bare import is external (left for node to resolve) except BUNDLED packages. */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (a) => (BUNDLED.has(packageName(a.path)) ? undefined : { path: a.path, external: true }));
  },
};

async function buildServer() {
  const { build } = await import('esbuild');
  // Only what this script writes: the UI's directory and the development loop's worker bundles stay.
  for (const name of readdirSync(dist, { withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name))
    if (/\.(js|map)$/.test(name)) rmSync(join(dist, name));
  const t0 = performance.now();
  const result = await build({
    absWorkingDir: root,
    entryPoints: {
      cpl: 'supervisor/cli/cli.ts',
      worker: 'workers/main.ts',
      'diff-task': 'workers/tasks/diff-task.ts',
      'git-task': 'workers/tasks/git-task.ts',
    },
    outdir: dist,
    // Every output directly in dist/: install-paths.ts finds the package root one level up.
    chunkNames: 'chunk-[hash]',
    entryNames: '[name]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    plugins: [externalPackages],
    metafile: true,
    legalComments: 'none',
    banner: { js: '// Built by scripts/build.mjs from the TypeScript sources; do not edit.' },
    logLevel: 'warning',
  });
  const problems = externalProblems(result.metafile, pkg.dependencies);
  if (problems.length) throw new Error(`the build would need packages the install does not have:\n  ${problems.join('\n  ')}`);
  const unused = unusedDependencies(result.metafile, pkg.dependencies);
  if (unused.length) throw new Error(`dependencies nothing in the package imports (move them to devDependencies, or remove them): ${unused.join(', ')}`);
  const cli = join(dist, 'cpl.js');
  writeFileSync(cli, `#!/usr/bin/env node\n${readFileSync(cli, 'utf8')}`);
  chmodSync(cli, 0o755);
  const outputs = Object.entries(result.metafile.outputs);
  const bytes = outputs.reduce((n, [, o]) => n + o.bytes, 0);
  console.log(`codeplane: built ${outputs.length} files (${(bytes / 1024).toFixed(0)} KiB) into ${relative(root, dist)}/ in ${Math.round(performance.now() - t0)} ms`);
}

async function buildUi() {
  const { build } = await import('vite');
  await build({ configFile: join(root, 'ui/vite.config.ts'), logLevel: 'warn' });
  console.log('codeplane: built the UI into dist/ui/');
}

try {
  if (!args.includes('--ui-only')) {
    mkdirSync(dist, { recursive: true });
    await buildServer();
  }
  if (!args.includes('--server-only')) await buildUi();
} catch (e) {
  console.error(`codeplane: build failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
