import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeRepo } from '../helpers/git-repo.ts';
import { rawRequest, rawSocket } from '../helpers/http-raw.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

/** Defences that hold on loopback too, with no password: DNS rebinding, CSRF, security headers. */
describe('request defences in loopback mode', () => {
  let server: ServerProcess;
  let repo: string;
  let port: string;
  before(async () => {
    repo = makeRepo();
    const home = mkdtempSync(join(tmpdir(), 'cpl-guard-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ allowedHosts: ['devbox.lan'] }));
    server = await startServerProcess({ cwd: repo, home });
    port = new URL(server.url).port;
  });
  after(async () => {
    await server?.stop();
  });

  it('refuses a Host that is not ours (DNS rebinding) on every kind of route', async () => {
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.nip.io:${port}`, `localhost.:${port}`, `LOCALHOST@evil.example`, `[::2]:${port}`, `0.0.0.0:${port}`]) {
      for (const path of ['/api/health', '/api/jobs', '/', '/api/events', '/share/cps_x', '/api/preview/3000/']) {
        const res = await rawRequest(server.url, { path, headers: { host } });
        assert.equal(res.status, 403, `${host} ${path}`);
        assert.equal(res.json().error.code, 'HOST_NOT_ALLOWED');
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
      }
    }
  });

  it('answers to localhost, 127.0.0.1, [::1] and config allowedHosts, any port', async () => {
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost', `devbox.lan:${port}`, `DevBox.LAN:${port}`]) {
      assert.equal((await rawRequest(server.url, { path: '/api/health', headers: { host } })).status, 200, host);
    }
  });

  it('refuses a request with no Host header at all', async () => {
    const out = await rawSocket(server.url, 'GET /api/health HTTP/1.0\r\n\r\n');
    assert.match(out, /^HTTP\/1\.1 403/);
    assert.match(out, /HOST_NOT_ALLOWED/);
  });

  it('refuses state-changing requests from a foreign Origin (CSRF), in every method', async () => {
    const foreign = ['http://evil.example', 'null', `http://localhost:${Number(port) + 1}`, `https://127.0.0.1:${port}.evil.example`, 'file://', 'chrome-extension://abc'];
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const origin of foreign) {
        const res = await rawRequest(server.url, { method, path: '/api/repos', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ path: repo }) });
        assert.equal(res.status, 403, `${method} from ${origin}`);
        assert.equal(res.json().error.code, 'ORIGIN_NOT_ALLOWED');
      }
    }
    // Each differs from the request's own origin (http://127.0.0.1:PORT) in exactly one part.
    const host = `127.0.0.1:${port}`;
    for (const [part, origin] of [['scheme', `https://127.0.0.1:${port}`], ['host', `http://localhost:${port}`], ['port', `http://127.0.0.1:${Number(port) + 1}`]]) {
      const res = await rawRequest(server.url, { method: 'POST', path: '/api/repos', headers: { host, origin: origin!, 'content-type': 'application/json' }, body: JSON.stringify({ path: repo }) });
      assert.equal(res.status, 403, `only the ${part} differs: ${origin}`);
      assert.equal(res.json().error.code, 'ORIGIN_NOT_ALLOWED');
    }
    const noOrigin = await rawRequest(server.url, { method: 'POST', path: '/api/jobs', headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(noOrigin.status, 403, 'a cross-site fetch without Origin');
  });

  it('accepts the same origin, and reads from any origin (CORS keeps them unreadable)', async () => {
    const same = await rawRequest(server.url, { method: 'POST', path: '/api/repos', headers: { origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json' }, body: JSON.stringify({ path: repo }) });
    assert.equal(same.status, 201, same.text);
    const read = await rawRequest(server.url, { path: '/api/jobs', headers: { origin: 'http://evil.example' } });
    assert.equal(read.status, 200);
    assert.equal(read.headers['access-control-allow-origin'], undefined);
  });

  it('sets the security headers on every response: ok, errors, SSE, static', async () => {
    const responses = await Promise.all([
      rawRequest(server.url, { path: '/api/health' }),
      rawRequest(server.url, { path: '/api/nothing' }),
      rawRequest(server.url, { path: '/' }),
      rawRequest(server.url, { path: '/api/jobs', method: 'POST', headers: { origin: 'http://evil.example' } }),
      rawRequest(server.url, { path: '/api/jobs/../../etc/passwd' }),
    ]);
    for (const res of responses) {
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['referrer-policy'], 'no-referrer');
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.equal(res.headers['strict-transport-security'], undefined, 'no HSTS over plain http');
    }
  });
});
