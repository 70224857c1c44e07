import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/server-process.ts';

/** Runs `cpl ...` to completion (or kills it after `ms`) and returns its exit code and output. */
function cpl(args: string[], env: NodeJS.ProcessEnv, ms = 20_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/cpl.js'), ...args], { env: { ...process.env, ...env }, cwd: tmpdir() });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const noStack = (out: string) => assert.doesNotMatch(out, /\n\s+at .+:\d+:\d+/, `no stack trace expected:\n${out}`);

describe('cpl up refuses to start with a clear message', () => {
  it('when the database file is not SQLite', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-corrupt-'));
    writeFileSync(join(home, 'codeplane.db'), 'this is not a database, just text '.repeat(200));
    const { code, out } = await cpl(['up', '--port', '0'], { CODEPLANE_HOME: home });
    assert.equal(code, 1);
    assert.match(out, /codeplane\.db/);
    assert.match(out, /not a valid SQLite database|corrupt/i);
    noStack(out);
  });

  it('when the data directory cannot be created', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cpl-file-')), 'plain-file');
    writeFileSync(file, 'x');
    const { code, out } = await cpl(['up', '--port', '0'], { CODEPLANE_HOME: join(file, 'home') });
    assert.equal(code, 1);
    assert.match(out, /data directory/);
    assert.match(out, /CODEPLANE_HOME/);
    noStack(out);
  });

  it('when config.json is not valid JSON', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-badcfg-'));
    writeFileSync(join(home, 'config.json'), '{ "maxConcurrentJobs": ');
    const { code, out } = await cpl(['up', '--port', '0'], { CODEPLANE_HOME: home });
    assert.equal(code, 1);
    assert.match(out, /config\.json is not valid JSON/);
    noStack(out);
  });

  it('when a config value has the wrong type, naming the key', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-badval-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ maxConcurrentJobs: 'lots' }));
    const { code, out } = await cpl(['up', '--port', '0'], { CODEPLANE_HOME: home });
    assert.equal(code, 1);
    assert.match(out, /maxConcurrentJobs/);
    noStack(out);
  });

  it('when a trusted proxy or an allowed push host is malformed, naming the key and the entry', async () => {
    for (const [config, env, key] of [
      [{ trustedProxies: ['proxy.lan'] }, {}, /"trustedProxies": "proxy\.lan" is not an IP address or a CIDR range/],
      [{ trustedProxies: ['10.0.0.0/40'] }, {}, /trustedProxies/],
      [{ pushAllowedHosts: ['push.example.lan'] }, {}, /"pushAllowedHosts": "push\.example\.lan" is not host:port/],
      [{}, { CPL_PUSH_ALLOWED_HOSTS: '127.0.0.1:99999' }, /CPL_PUSH_ALLOWED_HOSTS: "127\.0\.0\.1:99999" is not host:port/],
      [{ loginAttemptsPerMinute: 0 }, {}, /loginAttemptsPerMinute/],
    ] as const) {
      const home = mkdtempSync(join(tmpdir(), 'cpl-badlist-'));
      writeFileSync(join(home, 'config.json'), JSON.stringify(config));
      const { code, out } = await cpl(['up', '--port', '0'], { CODEPLANE_HOME: home, ...env });
      assert.equal(code, 1, out);
      assert.match(out, key);
      noStack(out);
    }
  });

  it('when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const home = mkdtempSync(join(tmpdir(), 'cpl-port-'));
    const { code, out } = await cpl(['up', '--port', String(port)], { CODEPLANE_HOME: home });
    blocker.close();
    assert.equal(code, 1);
    assert.match(out, new RegExp(`port ${port}.*already in use`));
    noStack(out);
  });

  it('when a flag is invalid', async () => {
    const { code, out } = await cpl(['up', '--port', 'eighty'], {});
    assert.equal(code, 2);
    assert.match(out, /invalid port "eighty"/);
    const unknown = await cpl(['up', '--colour'], {});
    assert.equal(unknown.code, 2);
    assert.match(unknown.out, /Unknown option/i);
  });

  it('prints its version', async () => {
    const { code, out } = await cpl(['version'], {});
    assert.equal(code, 0);
    assert.match(out.trim(), /^\d+\.\d+\.\d+$/);
  });
});
