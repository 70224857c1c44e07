import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { cpl } from '../helpers/cpl.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { parseSetCookie, rawRequest } from '../helpers/http-raw.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

type Err = { error: { code: string; message: string } };
const PASSWORD = 'correct horse battery staple';

async function login(url: string, password: string, headers: Record<string, string> = {}): Promise<{ status: number; cookie?: string; setCookie?: ReturnType<typeof parseSetCookie>; body: Err }> {
  const res = await rawRequest(url, { method: 'POST', path: '/api/auth/login', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ password }) });
  const setCookie = parseSetCookie(res.headers['set-cookie']);
  return { status: res.status, body: res.json(), ...(setCookie ? { setCookie, cookie: setCookie.pair } : {}) };
}

/** Every file under `dir` (logs, database, config …) as text, to look for secrets. */
function everything(dir: string): string {
  let all = '';
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, name);
    if (statSync(p).isFile()) all += readFileSync(p, 'latin1');
  }
  return all;
}

describe('authentication when a password is configured', () => {
  let repo: string;
  let server: ServerProcess;
  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({ cwd: repo, env: { CPL_PASSWORD: PASSWORD } });
  });
  after(async () => {
    await server?.stop();
  });

  it('keeps GET /api/health open and refuses the API without credentials, loopback or not', async () => {
    assert.equal((await api(server.url, 'GET', '/api/health')).status, 200);
    for (const [method, path] of [['GET', '/api/jobs'], ['GET', '/api/repos'], ['POST', '/api/repos'], ['GET', '/api/events'], ['GET', '/api/approvals'], ['GET', '/api/push/vapid-public-key']] as const) {
      const res = await api<Err>(server.url, method, path, method === 'POST' ? { path: repo } : undefined);
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(res.body.error.code, 'UNAUTHENTICATED');
    }
    const status = await api<{ authRequired: boolean; authenticated: boolean }>(server.url, 'GET', '/api/auth/status');
    assert.deepEqual(status.body, { authRequired: true, authenticated: false });
  });

  it('answers a browser page with the login form (401) and keeps the static assets open', async () => {
    const page = await rawRequest(server.url, { path: '/jobs/x', headers: { accept: 'text/html' } });
    assert.equal(page.status, 401);
    assert.match(page.text, /type="password"/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'sha256-/);
    assert.notEqual((await rawRequest(server.url, { path: '/manifest.webmanifest' })).status, 401);
  });

  it('refuses a wrong password and logs in with the right one: HttpOnly, SameSite=Strict, not Secure over plain http', async () => {
    const wrong = await login(server.url, 'nope nope nope');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'INVALID_PASSWORD');
    assert.equal(wrong.cookie, undefined);
    const ok = await login(server.url, PASSWORD);
    assert.equal(ok.status, 200);
    assert.match(ok.cookie!, /^cpl_session=[\w-]{43}$/);
    assert.ok(ok.setCookie!.attrs.includes('httponly'));
    assert.ok(ok.setCookie!.attrs.includes('samesite=strict'));
    assert.ok(!ok.setCookie!.attrs.includes('secure'));
    const jobs = await api(server.url, 'GET', '/api/jobs', undefined, { cookie: ok.cookie! });
    assert.equal(jobs.status, 200);
    const status = await api<{ authenticated: boolean }>(server.url, 'GET', '/api/auth/status', undefined, { cookie: ok.cookie! });
    assert.equal(status.body.authenticated, true);
    const out = await rawRequest(server.url, { method: 'POST', path: '/api/auth/logout', headers: { cookie: ok.cookie! } });
    assert.equal(out.status, 204);
    assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
    assert.equal((await api(server.url, 'GET', '/api/jobs', undefined, { cookie: ok.cookie! })).status, 401, 'a logged-out session is dead');
  });

  it('refuses forged and malformed credentials', async () => {
    const forged: Record<string, string>[] = [{ cookie: 'cpl_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, { cookie: 'cpl_session=' }, { authorization: 'Bearer cpt_forged' }, { authorization: 'Basic YWRtaW46YWRtaW4=' }, { authorization: 'Bearer ' + 'x'.repeat(5000) }];
    for (const headers of forged) {
      const res = await api<Err>(server.url, 'GET', '/api/jobs', undefined, headers);
      assert.equal(res.status, 401, JSON.stringify(headers).slice(0, 80));
    }
  });

  it('delays a client after 5 wrong passwords (429 with Retry-After, even with the right password), ignoring X-Forwarded-For from an untrusted peer; the delay ends', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await login(server.url, `wrong-${i}-password`, { 'x-forwarded-for': `198.51.100.${i}` })).status, 401);
    // Right after the fifth failure (the delay is 2 s from its verdict): a sixth guess and the right password, at once.
    const [sixth, right0] = await Promise.all([
      rawRequest(server.url, { method: 'POST', path: '/api/auth/login', headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.9' }, body: JSON.stringify({ password: 'wrong-6-password' }) }),
      login(server.url, PASSWORD),
    ]);
    assert.equal(sixth.status, 429);
    assert.equal(sixth.json().error.code, 'RATE_LIMITED');
    assert.ok(['1', '2'].includes(String(sixth.headers['retry-after'])), String(sixth.headers['retry-after']));
    assert.equal(right0.status, 429);
    // Not a 15-minute lock: once the delay is over the right password gets in.
    const deadline = Date.now() + 15_000;
    let right = await login(server.url, PASSWORD);
    while (right.status === 429 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      right = await login(server.url, PASSWORD);
    }
    assert.equal(right.status, 200);
  });

  it('never writes the password or a session id to disk', async () => {
    const s = await startServerProcess({ cwd: repo, env: { CPL_PASSWORD: PASSWORD } });
    const { cookie } = await login(s.url, PASSWORD);
    await s.stop();
    const disk = everything(s.home);
    assert.ok(!disk.includes(PASSWORD));
    assert.ok(!disk.includes(cookie!.split('=')[1]!));
  });
});

describe('passwords, sessions and API tokens persist in the database', () => {
  const home = mkdtempSync(join(tmpdir(), 'cpl-auth-home-'));
  let repo: string;
  before(() => {
    repo = makeRepo();
  });

  it('cpl password set stores a scrypt hash; sessions survive a restart; cpl token create/list/revoke', async () => {
    const set = await cpl(['password', 'set'], { CODEPLANE_HOME: home }, { stdin: `${PASSWORD}\n` });
    assert.equal(set.code, 0, set.out);
    const db = new BetterSqlite3(join(home, 'codeplane.db'), { readonly: true });
    const row = db.prepare('SELECT hash FROM auth_password').get() as { hash: string };
    db.close();
    assert.match(row.hash, /^scrypt\$131072\$8\$1\$/);
    assert.ok(!row.hash.includes(PASSWORD));

    let server = await startServerProcess({ cwd: repo, home });
    const { cookie } = await login(server.url, PASSWORD);
    assert.ok(cookie);
    const created = await cpl(['token', 'create', '--name', 'ci script'], { CODEPLANE_HOME: home });
    assert.equal(created.code, 0, created.out);
    const token = /cpt_[\w-]{43}/.exec(created.out)![0];
    assert.equal((await api(server.url, 'GET', '/api/jobs', undefined, { authorization: `Bearer ${token}` })).status, 200);
    await server.stop();

    server = await startServerProcess({ cwd: repo, home });
    try {
      assert.equal((await api(server.url, 'GET', '/api/jobs', undefined, { cookie: cookie! })).status, 200, 'the session survived the restart');
      assert.equal((await api(server.url, 'GET', '/api/jobs', undefined, { authorization: `Bearer ${token}` })).status, 200);
      const list = await cpl(['token', 'list'], { CODEPLANE_HOME: home });
      assert.match(list.out, /ci script/);
      assert.ok(!list.out.includes(token), 'a token is shown once only');
      const id = /^(t\w+)\s/m.exec(list.out)![1]!;
      assert.equal((await cpl(['token', 'revoke', id], { CODEPLANE_HOME: home })).code, 0);
      assert.equal((await api(server.url, 'GET', '/api/jobs', undefined, { authorization: `Bearer ${token}` })).status, 401, 'a revoked token is refused at once');
      assert.ok(!everything(home).includes(token));
      // A new password ends every session.
      assert.equal((await cpl(['password', 'set'], { CODEPLANE_HOME: home }, { stdin: 'another long password\n' })).code, 0);
      assert.equal((await api(server.url, 'GET', '/api/jobs', undefined, { cookie: cookie! })).status, 401);
    } finally {
      await server.stop();
    }
  });

  it('refuses a short password', async () => {
    const r = await cpl(['password', 'set'], { CODEPLANE_HOME: home }, { stdin: 'short\n' });
    assert.equal(r.code, 2);
    assert.match(r.out, /at least 8 characters/);
  });
});

describe('exposure beyond loopback needs authentication', () => {
  it('cpl up --host 0.0.0.0 without any authentication refuses to start and says why', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-exposed-'));
    const r = await cpl(['up', '--host', '0.0.0.0', '--port', '0'], { CODEPLANE_HOME: home, CPL_PASSWORD: '' });
    assert.equal(r.code, 1);
    assert.match(r.out, /refusing to listen on 0\.0\.0\.0 without authentication/);
    assert.match(r.out, /cpl password set/);
    assert.doesNotMatch(r.out, /\n\s+at .+:\d+:\d+/);
  });

  it('with --password it starts, requires login, and still refuses foreign Host names', async () => {
    const repo = makeRepo();
    const server = await startServerProcess({ cwd: repo, args: ['--host', '0.0.0.0', '--password', PASSWORD] });
    try {
      const port = new URL(server.url).port;
      assert.equal((await api(server.url, 'GET', '/api/jobs')).status, 401);
      const foreign = await rawRequest(server.url, { path: '/api/health', headers: { host: `evil.example:${port}` } });
      assert.equal(foreign.status, 403);
      assert.equal(foreign.json().error.code, 'HOST_NOT_ALLOWED');
      const { cookie } = await login(server.url, PASSWORD);
      assert.equal((await api(server.url, 'GET', '/api/jobs', undefined, { cookie: cookie! })).status, 200);
    } finally {
      await server.stop();
    }
  });

  it('a configured trusted proxy makes X-Forwarded-For the rate-limit key', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-proxy-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ trustedProxies: ['127.0.0.1'] }));
    const server = await startServerProcess({ cwd: makeRepo(), home, env: { CPL_PASSWORD: PASSWORD } });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await login(server.url, 'wrong password!', { 'x-forwarded-for': '203.0.113.7' })).status, 401);
      assert.equal((await login(server.url, PASSWORD, { 'x-forwarded-for': '203.0.113.7' })).status, 429);
      assert.equal((await login(server.url, PASSWORD, { 'x-forwarded-for': '203.0.113.8' })).status, 200, 'another client behind the proxy is not locked out');
    } finally {
      await server.stop();
    }
  });
});
