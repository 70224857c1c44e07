import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { INSTALL, installPathsFor } from '../../supervisor/install-paths.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('install paths', () => {
  it('from the sources (tsx): the TypeScript worker and tasks, pool threads load tsx by absolute URL', () => {
    assert.equal(INSTALL.layout, 'sources');
    assert.equal(INSTALL.root, ROOT);
    assert.equal(INSTALL.packageJson, join(ROOT, 'package.json'));
    assert.equal(INSTALL.uiDir, join(ROOT, 'dist/ui'));
    assert.equal(INSTALL.workerEntry, join(ROOT, 'workers/main.ts'));
    assert.ok(existsSync(INSTALL.workerEntry));
    for (const t of ['diff-task', 'git-task'] as const) {
      assert.equal(INSTALL.taskUrl(t), pathToFileURL(join(ROOT, `workers/tasks/${t}.ts`)).href);
      assert.ok(existsSync(fileURLToPath(INSTALL.taskUrl(t))));
    }
    const [flag, loader, ...rest] = INSTALL.taskExecArgv();
    assert.equal(flag, '--import');
    assert.match(loader ?? '', /^file:\/\/\/.*\/node_modules\/tsx\//);
    assert.deepEqual(rest, []);
  });

  it('built (bundled into dist/*.js): plain JavaScript under dist/, nothing for pool threads to load', () => {
    const paths = installPathsFor(pathToFileURL('/opt/lib/node_modules/codeplane/dist/chunk-ABC123.js').href);
    assert.equal(paths.layout, 'built');
    assert.equal(paths.root, '/opt/lib/node_modules/codeplane/');
    assert.equal(paths.packageJson, '/opt/lib/node_modules/codeplane/package.json');
    assert.equal(paths.uiDir, '/opt/lib/node_modules/codeplane/dist/ui');
    assert.equal(paths.workerEntry, '/opt/lib/node_modules/codeplane/dist/worker.js');
    assert.equal(paths.taskUrl('diff-task'), 'file:///opt/lib/node_modules/codeplane/dist/diff-task.js');
    assert.equal(paths.taskUrl('git-task'), 'file:///opt/lib/node_modules/codeplane/dist/git-task.js');
    // Built: no tsx (it is not installed with the package), and no inherited flags either.
    assert.deepEqual(paths.taskExecArgv(), []);
  });

  it('a path with spaces and URL-special characters round-trips', () => {
    const dir = '/home/a user/x#y%z/codeplane';
    const paths = installPathsFor(pathToFileURL(`${dir}/dist/cpl.js`).href);
    assert.equal(paths.root, `${dir}/`);
    assert.equal(fileURLToPath(paths.taskUrl('diff-task')), `${dir}/dist/diff-task.js`);
  });
});
