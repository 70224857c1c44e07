/**
 * runGit (supervisor/git/git-exec.ts) settles when git's output streams have closed, not when
 * the process exited, so output that is read late is not lost. The fake git answers after it
 * has exited (simple-git, used here before, settled 50 ms after exit by default and returned
 * an empty answer: steveukx/git-js#608).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gitOut } from '../../supervisor/git/git-exec.ts';
import { ROOT } from '../helpers/server-process.ts';

describe('git runner output', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpl-git-late-'));
  const path = process.env['PATH'];
  before(() => {
    // Before the first git command of this process: the runner keeps the environment it first saw.
    process.env['PATH'] = `${join(ROOT, 'test/fixtures/late-stdout-git')}:${path ?? ''}`;
  });
  after(() => {
    process.env['PATH'] = path;
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits for output written after git exited', async () => {
    assert.equal(await gitOut(dir, ['rev-parse', 'HEAD']), 'late-answer');
  });
});
