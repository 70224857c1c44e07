/**
 * gitAt (supervisor/git/git-client.ts) settles when git's output has closed,
 * not 50 ms after the process exited (simple-git's default), so output that
 * is read late is not lost. The fake git answers after it has exited.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleGit } from 'simple-git';
import { gitAt } from '../../supervisor/git/git-client.ts';
import { ROOT } from '../helpers/server-process.ts';

describe('git client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpl-git-client-'));
  const path = process.env['PATH'];
  before(() => {
    process.env['PATH'] = `${join(ROOT, 'test/fixtures/late-stdout-git')}:${path ?? ''}`;
  });
  after(() => {
    process.env['PATH'] = path;
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits for output written after git exited', async () => {
    assert.equal((await gitAt(dir).raw(['rev-parse', 'HEAD'])).trim(), 'late-answer');
  });

  it('(control: simple-git as configured by default loses that output)', async () => {
    assert.equal((await simpleGit(dir).raw(['rev-parse', 'HEAD'])).trim(), '');
  });
});
