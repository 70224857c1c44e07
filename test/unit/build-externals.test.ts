import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { externalProblems, packageName, unusedDependencies, type MetafileImports } from '../../scripts/build-externals.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const deps = { koa: '3.3.0', '@koa/router': '15.7.0', 'better-sqlite3': '12.11.1' };
const meta = (input: string, ...imports: { path: string; kind?: string; external?: boolean }[]): MetafileImports => ({
  inputs: { [input]: { imports: imports.map((i) => ({ kind: 'import-statement', external: true, ...i })) } },
});

describe('the build refuses output that needs packages the install does not have', () => {
  it('node modules, dependencies and their subpaths pass', () => {
    assert.deepEqual(externalProblems(meta('api/app.ts', { path: 'node:fs' }, { path: 'fs' }, { path: 'koa' }, { path: '@koa/router' }, { path: 'better-sqlite3/lib/x.js' }), deps), []);
  });

  it('dev tooling, a UI library and an unknown package are each named', () => {
    const problems = externalProblems(meta('supervisor/x.ts', { path: 'tsx' }, { path: 'typescript' }, { path: 'preact/hooks' }, { path: '@types/node' }, { path: 'koa-typo' }), deps);
    assert.equal(problems.length, 5, problems.join('\n'));
    assert.match(problems[0]!, /^supervisor\/x\.ts imports tsx \(import-statement\)/);
    assert.match(problems[2]!, /preact\/hooks/);
  });

  it('esbuild only as the dynamic import of the development bundler, nowhere else', () => {
    assert.deepEqual(externalProblems(meta('supervisor/workers/worker-bundle.ts', { path: 'esbuild', kind: 'dynamic-import' }), deps), []);
    assert.equal(externalProblems(meta('supervisor/workers/worker-bundle.ts', { path: 'esbuild', kind: 'import-statement' }), deps).length, 1);
    assert.equal(externalProblems(meta('supervisor/server.ts', { path: 'esbuild', kind: 'dynamic-import' }), deps).length, 1);
  });

  it('bundled (non-external) imports are not the install\'s business', () => {
    assert.deepEqual(externalProblems(meta('supervisor/db/database.ts', { path: 'node_modules/kysely/dist/esm/index.js', external: false }), deps), []);
  });

  it('a dependency nothing imports is named; bundled and dynamically imported ones count as used', () => {
    const metafile: MetafileImports = {
      inputs: {
        'supervisor/a.ts': { imports: [{ path: 'koa', kind: 'import-statement', external: true }, { path: '@koa/router/x', kind: 'dynamic-import', external: true }] },
        '../main/node_modules/better-sqlite3/lib/index.js': { imports: [] },
      },
    };
    assert.deepEqual(unusedDependencies(metafile, deps), []);
    assert.deepEqual(unusedDependencies(metafile, { ...deps, zod: '4.6.7', '@scope/left-over': '1.0.0' }), ['zod', '@scope/left-over']);
  });

  it('package names: scoped, subpaths, node: prefixes', () => {
    assert.equal(packageName('@a/b/c/d.js'), '@a/b');
    assert.equal(packageName('a/b'), 'a');
    assert.equal(packageName('node:fs/promises'), 'node:fs/promises');
  });

  it("package.json's dependencies hold no dev tooling, and the real sources pass the build's checks (nothing missing, nothing unused)", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const name of ['tsx', 'typescript', 'esbuild', 'vite', 'preact', '@preact/signals']) {
      assert.ok(!(name in pkg.dependencies), `${name} is a run-time dependency`);
      assert.ok(name in pkg.devDependencies, `${name} is not a devDependency`);
    }
    // The same check on the real import graph, through esbuild's metafile, without writing anything.
    const probe = `import { build } from 'esbuild'; import { externalProblems, unusedDependencies } from './scripts/build-externals.mjs';
      import { readFileSync } from 'node:fs';
      const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
      const r = await build({ entryPoints: ['supervisor/cli/cli.ts', 'workers/main.ts', 'workers/tasks/diff-task.ts', 'workers/tasks/git-task.ts'], bundle: true, write: false, outdir: 'x', splitting: true, format: 'esm', platform: 'node', packages: 'external', metafile: true, logLevel: 'silent' });
      console.log(JSON.stringify([...externalProblems(r.metafile, pkg.dependencies), ...unusedDependencies(r.metafile, pkg.dependencies).map((d) => 'unused ' + d)]));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });
});
