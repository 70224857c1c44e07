/**
 * The sandbox probe (supervisor/sandbox/sandbox-probe.ts): yes only when bubblewrap is there AND
 * builds the very sandbox a job gets; otherwise no, with a stable code, the reason and the fix.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { findBwrap, probeSandbox } from '../../supervisor/sandbox/sandbox-probe.ts';

describe('the sandbox probe', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpl-sbx-probe-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('yes on this machine (bubblewrap installed, namespaces allowed)', async () => {
    const p = await probeSandbox();
    assert.equal(p.ok, true, JSON.stringify(p));
  });

  it('no on a platform without a sandbox yet', async () => {
    const p = await probeSandbox({ platform: 'darwin' });
    assert.equal(p.ok, false);
    assert.equal(!p.ok && p.code, 'SANDBOX_UNSUPPORTED_PLATFORM');
    assert.match(!p.ok ? p.fix : '', /"sandbox": "off"/);
  });

  it('no without bubblewrap: a configured path that is missing, a directory, a file that is not executable; none on PATH', async () => {
    const notExec = join(dir, 'bwrap-not-exec');
    writeFileSync(notExec, '#!/bin/sh\nexit 0\n');
    chmodSync(notExec, 0o644);
    mkdirSync(join(dir, 'bwrap-dir'));
    for (const bwrapPath of [join(dir, 'missing'), join(dir, 'bwrap-dir'), notExec]) {
      const p = await probeSandbox({ bwrapPath });
      assert.equal(!p.ok && p.code, 'BWRAP_NOT_FOUND', bwrapPath);
      assert.match(!p.ok ? p.fix : '', /install bubblewrap/);
    }
    assert.equal(findBwrap(undefined, join(dir, 'empty-path')), undefined);
    const p = await probeSandbox({ path: join(dir, 'empty-path') });
    assert.equal(!p.ok && p.code, 'BWRAP_NOT_FOUND');
  });

  it('no when bubblewrap cannot build the sandbox, with its own words (not a "yes" for any exit)', async () => {
    const fake = join(dir, 'bwrap-fails');
    writeFileSync(fake, '#!/bin/sh\necho "bwrap: setting up uid map: Permission denied" >&2\nexit 1\n', { mode: 0o755 });
    const p = await probeSandbox({ bwrapPath: fake });
    assert.equal(!p.ok && p.code, 'BWRAP_FAILED');
    assert.match(!p.ok ? p.reason : '', /uid map: Permission denied/);
    assert.match(!p.ok ? p.fix : '', /user namespaces/);
  });

  it('passes bubblewrap the job sandbox options and a command after `--`', async () => {
    const fake = join(dir, 'bwrap-args');
    const out = join(dir, 'args.txt');
    writeFileSync(fake, `#!/bin/sh\nprintf "%s\\n" "$@" > '${out}'\n`, { mode: 0o755 });
    assert.equal((await probeSandbox({ bwrapPath: fake })).ok, true);
    const args = readFileSync(out, 'utf8').trim().split('\n');
    for (const o of ['--unshare-pid', '--die-with-parent', '--ro-bind', '--proc', '--dev']) assert.ok(args.includes(o), o);
    assert.deepEqual(args.slice(-2), ['--', 'true']);
  });
});
