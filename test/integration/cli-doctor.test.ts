import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gitVersionOk } from '../../supervisor/cli/doctor.ts';
import { cpl } from '../helpers/cpl.ts';

type Report = { ok: boolean; checks: { id: string; ok: boolean; required: boolean; detail: string; hint?: string }[] };
const parse = (out: string): Report => JSON.parse(out.slice(out.indexOf('{'))) as Report;

describe('cpl doctor', () => {
  it('reports every check as JSON and exits 0 when the required ones pass', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-doctor-'));
    const r = await cpl(['doctor', '--json', '--port', '0'], { CODEPLANE_HOME: home }, { ms: 60_000 });
    assert.equal(r.code, 0, r.out);
    const report = parse(r.out);
    assert.equal(report.ok, true);
    const ids = report.checks.map((c) => c.id);
    for (const id of ['node', 'git', 'dataDir', 'port', 'sqlite', 'agent:claude', 'agent:copilot', 'agents', 'sandbox', 'gh', 'cloudflared', 'devtunnel']) assert.ok(ids.includes(id), id);
    const claude = report.checks.find((c) => c.id === 'agent:claude')!;
    assert.match(claude.detail, /\d+\.\d+\.\d+/, 'the bundled claude CLI answers with its version');
    for (const id of ['gh', 'cloudflared', 'devtunnel']) assert.equal(report.checks.find((c) => c.id === id)!.required, false);
    for (const c of report.checks) if (!c.ok) assert.ok(c.hint, `${c.id} has a fix hint`);
  });

  it('fails (exit 1) with a hint when the port is taken, the data dir is unusable, or git is missing', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((r) => blocker.listen(0, '127.0.0.1', () => r((blocker.address() as { port: number }).port)));
    const file = join(mkdtempSync(join(tmpdir(), 'cpl-doctor-file-')), 'plain-file');
    writeFileSync(file, 'x');
    // A PATH with node but no git.
    const bin = mkdtempSync(join(tmpdir(), 'cpl-doctor-bin-'));
    mkdirSync(join(bin, 'b'));
    symlinkSync(process.execPath, join(bin, 'b', 'node'));
    const r = await cpl(['doctor', '--json', '--port', String(port)], { CODEPLANE_HOME: join(file, 'home'), PATH: join(bin, 'b') }, { ms: 60_000 });
    blocker.close();
    assert.equal(r.code, 1, r.out);
    const report = parse(r.out);
    const failed = (id: string) => report.checks.find((c) => c.id === id)!;
    for (const id of ['port', 'dataDir', 'git']) {
      assert.equal(failed(id).ok, false, id);
      assert.ok(failed(id).hint, id);
    }
    assert.match(failed('port').hint!, /--port|CPL_PORT/);
    assert.match(failed('dataDir').hint!, /CODEPLANE_HOME/);
  });

  it('fails the git check for a git older than 2.38 (merge-tree --write-tree, and the hardening the server relies on)', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'cpl-doctor-oldgit-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    writeFileSync(join(bin, 'git'), '#!/bin/sh\necho "git version 2.30.9"\n');
    chmodSync(join(bin, 'git'), 0o755);
    const r = await cpl(['doctor', '--json', '--port', '0'], { CODEPLANE_HOME: mkdtempSync(join(tmpdir(), 'cpl-doctor-')), PATH: `${bin}:/usr/bin:/bin` }, { ms: 60_000 });
    assert.equal(r.code, 1, r.out);
    const git = parse(r.out).checks.find((c) => c.id === 'git')!;
    assert.equal(git.ok, false);
    assert.match(git.detail, /2\.30\.9.*2\.38/);
    assert.match(git.hint ?? '', /2\.38 or newer/);
  });

  it('reads git versions as git prints them', () => {
    for (const v of ['git version 2.38.0', 'git version 2.39.5', 'git version 2.43.0.windows.1', 'git version 3.0.0', 'git version 2.40.1 (Apple Git-143)']) assert.equal(gitVersionOk(v), true, v);
    for (const v of ['git version 2.37.9', 'git version 1.99.0', 'git version 2.9.5', 'not git', '']) assert.equal(gitVersionOk(v), false, v);
  });

  it('prints a readable report without --json', async () => {
    const r = await cpl(['doctor', '--port', '0'], { CODEPLANE_HOME: mkdtempSync(join(tmpdir(), 'cpl-doctor-')) }, { ms: 60_000 });
    assert.match(r.out, /✓ Node\.js: Node \d+/);
    assert.match(r.out, /Ready\./);
    assert.match(r.out, /✓ agent sandbox: \/\S*bwrap runs agents in user namespaces/);
  });

  describe('the agent sandbox', () => {
    const home = (config: Record<string, unknown>): string => {
      const h = mkdtempSync(join(tmpdir(), 'cpl-doctor-sbx-'));
      writeFileSync(join(h, 'config.json'), JSON.stringify(config));
      return h;
    };
    const sandbox = (r: { out: string }) => parse(r.out).checks.find((c) => c.id === 'sandbox')!;

    it('without bubblewrap (a configured binary that does not exist): a failed required check, exit 1, the fix names bubblewrap and "sandbox": "off"', async () => {
      const r = await cpl(['doctor', '--json', '--port', '0'], { CODEPLANE_HOME: home({ bwrapPath: '/nonexistent/bwrap' }) }, { ms: 60_000 });
      assert.equal(r.code, 1, r.out);
      const c = sandbox(r);
      assert.deepEqual([c.ok, c.required], [false, true]);
      assert.match(c.detail, /\/nonexistent\/bwrap.*not found.*SANDBOX_UNAVAILABLE/);
      assert.match(c.hint ?? '', /install bubblewrap/);
      assert.match(c.hint ?? '', /"sandbox": "off"/);
    });

    it('without bubblewrap on PATH (a PATH with node and git only)', async () => {
      const bin = mkdtempSync(join(tmpdir(), 'cpl-doctor-bin-'));
      symlinkSync(process.execPath, join(bin, 'node'));
      symlinkSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), join(bin, 'git'));
      const r = await cpl(['doctor', '--json', '--port', '0'], { CODEPLANE_HOME: home({}), PATH: bin }, { ms: 60_000 });
      const c = sandbox(r);
      assert.equal(c.ok, false, r.out);
      assert.match(c.detail, /not installed \(not found on PATH\)/);
    });

    it('a bubblewrap that cannot create namespaces (as with user namespaces disabled): bubblewrap\'s own words and the sysctl fix', async () => {
      const bin = mkdtempSync(join(tmpdir(), 'cpl-doctor-bwrap-'));
      const fake = join(bin, 'bwrap');
      writeFileSync(fake, '#!/bin/sh\necho "bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces." >&2\nexit 1\n', { mode: 0o755 });
      const r = await cpl(['doctor', '--json', '--port', '0'], { CODEPLANE_HOME: home({ bwrapPath: fake }) }, { ms: 60_000 });
      assert.equal(r.code, 1, r.out);
      const c = sandbox(r);
      assert.match(c.detail, /cannot create the sandbox: bwrap: No permissions to creating new namespace/);
      assert.match(c.hint ?? '', /user namespaces/);
    });

    it('turned off: a warning, not a failure', async () => {
      const r = await cpl(['doctor', '--json', '--port', '0'], { CODEPLANE_HOME: home({ sandbox: 'off' }) }, { ms: 60_000 });
      const c = sandbox(r);
      assert.deepEqual([c.ok, c.required], [false, false], r.out);
      assert.match(c.detail, /turned off/);
      assert.equal(parse(r.out).ok, true);
    });
  });
});
