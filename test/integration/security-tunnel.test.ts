import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cpl } from '../helpers/cpl.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { parseSetCookie, rawRequest } from '../helpers/http-raw.ts';
import { alive, waitFor } from '../helpers/processes.ts';
import { ROOT, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const PASSWORD = 'tunnel password 42';
const TUNNEL_HOST = 'gentle-river-fancy-words.trycloudflare.com';
/** PATH without any real tunnel CLI, so only the fakes can be found. */
const BASE_PATH = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d && !existsSync(join(d, 'cloudflared')) && !existsSync(join(d, 'devtunnel'))).join(delimiter);
const withBin = (dir: string) => `${join(ROOT, 'test/fixtures', dir)}${delimiter}${BASE_PATH}`;

describe('cpl up --remote through a (fake) cloudflared quick tunnel', () => {
  let server: ServerProcess;
  let log: string;
  before(async () => {
    log = join(mkdtempSync(join(tmpdir(), 'cpl-tunnel-log-')), 'tunnel.log');
    server = await startServerProcess({ cwd: makeRepo(), args: ['--remote'], env: { PATH: withBin('tunnel-bin'), CPL_PASSWORD: PASSWORD, FAKE_TUNNEL_LOG: log } });
    await waitFor(() => server.output().includes('Open it on your phone'), 20_000, 'the tunnel banner');
  });
  after(async () => {
    await server?.stop();
  });

  it('starts cloudflared for the local port and prints the public URL, a QR code and how to log in', () => {
    const port = new URL(server.url).port;
    const first = JSON.parse(readFileSync(log, 'utf8').split('\n')[0]!) as { args: string[] };
    assert.deepEqual(first.args, ['tunnel', '--url', `http://127.0.0.1:${port}`]);
    const out = server.output();
    assert.match(out, new RegExp(`Public URL \\(tunnel\\): https://${TUNNEL_HOST.replace(/\./g, '\\.')}`));
    assert.match(out, /[▀▄█]{20,}/, 'a QR code');
    assert.match(out, /log in with the password in CPL_PASSWORD/);
  });

  it('answers to the tunnel host, requires a login there (the local socket earns no trust), over "HTTPS": Secure cookie and HSTS', async () => {
    const headers = { host: TUNNEL_HOST };
    const jobs = await rawRequest(server.url, { path: '/api/jobs', headers });
    assert.equal(jobs.status, 401);
    assert.equal(jobs.json().error.code, 'UNAUTHENTICATED');
    assert.equal(jobs.headers['strict-transport-security'], 'max-age=31536000');
    const loopback = await rawRequest(server.url, { path: '/api/jobs' });
    assert.equal(loopback.status, 401, 'loopback requests need the login too once a tunnel is open');
    assert.equal(loopback.headers['strict-transport-security'], undefined, 'no HSTS over plain http');
    const login = await rawRequest(server.url, { method: 'POST', path: '/api/auth/login', headers: { ...headers, origin: `https://${TUNNEL_HOST}`, 'content-type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) });
    assert.equal(login.status, 200);
    const cookie = parseSetCookie(login.headers['set-cookie'])!;
    assert.ok(cookie.attrs.includes('secure') && cookie.attrs.includes('httponly') && cookie.attrs.includes('samesite=strict'));
    assert.equal((await rawRequest(server.url, { path: '/api/jobs', headers: { ...headers, cookie: cookie.pair } })).status, 200);
    const csrf = await rawRequest(server.url, { method: 'POST', path: '/api/repos', headers: { ...headers, cookie: cookie.pair, origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{"path":"/tmp"}' });
    assert.equal(csrf.status, 403);
    assert.equal(csrf.json().error.code, 'ORIGIN_NOT_ALLOWED');
    const other = await rawRequest(server.url, { path: '/api/health', headers: { host: 'other-words.trycloudflare.com' } });
    assert.equal(other.status, 403, 'only this tunnel host, not any trycloudflare.com name');
  });

  it('stops cloudflared with the server', async () => {
    const { pid } = JSON.parse(readFileSync(log, 'utf8').split('\n')[0]!) as { pid: number };
    assert.ok(alive(pid));
    await server.stop();
    await waitFor(() => !alive(pid), 10_000, 'cloudflared to stop');
    assert.match(readFileSync(log, 'utf8'), /stopped/);
  });
});

describe('cpl up --remote refuses to start unsafely', () => {
  it('without authentication', async () => {
    const r = await cpl(['up', '--remote', '--port', '0'], { CODEPLANE_HOME: mkdtempSync(join(tmpdir(), 'cpl-t-')), PATH: withBin('tunnel-bin'), CPL_PASSWORD: '' });
    assert.equal(r.code, 1);
    assert.match(r.out, /refusing to open a tunnel without authentication/);
  });

  it('without a tunnel CLI on PATH, naming what to install', async () => {
    const r = await cpl(['up', '--remote', '--port', '0'], { CODEPLANE_HOME: mkdtempSync(join(tmpdir(), 'cpl-t-')), PATH: BASE_PATH, CPL_PASSWORD: PASSWORD });
    assert.equal(r.code, 1);
    assert.match(r.out, /cloudflared.*devtunnel/);
  });

  it('when the tunnel CLI fails, with its output', async () => {
    const r = await cpl(['up', '--remote', '--port', '0'], { CODEPLANE_HOME: mkdtempSync(join(tmpdir(), 'cpl-t-')), PATH: withBin('tunnel-bin'), CPL_PASSWORD: PASSWORD, FAKE_TUNNEL_MODE: 'exit' });
    assert.equal(r.code, 1);
    assert.match(r.out, /cloudflared exited .*500 Internal Server Error/s);
  });

  it('a password shorter than 8 characters', async () => {
    const r = await cpl(['up', '--port', '0', '--password', 'short'], { CODEPLANE_HOME: mkdtempSync(join(tmpdir(), 'cpl-t-')) });
    assert.equal(r.code, 1);
    assert.match(r.out, /at least 8 characters/);
  });
});

describe('cpl up --remote falls back to devtunnel', () => {
  it('uses devtunnel when cloudflared is not installed', async () => {
    const server = await startServerProcess({ cwd: makeRepo(), args: ['--remote'], env: { PATH: withBin('devtunnel-bin'), CPL_PASSWORD: PASSWORD } });
    try {
      await waitFor(() => server.output().includes('Open it on your phone'), 20_000, 'the tunnel banner');
      const port = new URL(server.url).port;
      assert.match(server.output(), new RegExp(`Public URL \\(tunnel\\): https://k3xq9z-${port}\\.euw\\.devtunnels\\.ms`));
      assert.equal((await rawRequest(server.url, { path: '/api/health', headers: { host: `k3xq9z-${port}.euw.devtunnels.ms` } })).status, 200);
    } finally {
      await server.stop();
    }
  });
});
