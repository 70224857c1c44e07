import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeRepo } from '../helpers/git-repo.ts';
import { rawRequest } from '../helpers/http-raw.ts';
import { waitFor } from '../helpers/processes.ts';
import { ROOT, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

/**
 * Login floods against the real server over real HTTP. How many passwords were really checked
 * is read from the server's audit log (one "login attempt checked" line per hash, written
 * before the answer), so no timing is involved.
 */
const PASSWORD = 'flood test password';
const TUNNEL_HOST = 'gentle-river-fancy-words.trycloudflare.com';
const BASE_PATH = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d && !existsSync(join(d, 'cloudflared')) && !existsSync(join(d, 'devtunnel'))).join(delimiter);

interface Attempt {
  status: number;
  code?: string;
  message?: string;
  retryAfter?: string;
  cookies: Record<string, string>;
}

async function login(url: string, password: string, headers: Record<string, string> = {}): Promise<Attempt> {
  const res = await rawRequest(url, { method: 'POST', path: '/api/auth/login', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ password }) });
  const cookies: Record<string, string> = {};
  const set = res.headers['set-cookie'];
  for (const c of Array.isArray(set) ? set : set ? [set] : []) {
    const pair = c.split(';')[0]!;
    cookies[pair.slice(0, pair.indexOf('='))] = pair;
  }
  const body = res.text ? (res.json() as { error?: { code: string; message: string } }) : {};
  return { status: res.status, cookies, ...(body.error ? { code: body.error.code, message: body.error.message } : {}), ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}) };
}

const flood = (n: number, attempt: (i: number) => Promise<Attempt>): Promise<Attempt[]> => Promise.all(Array.from({ length: n }, (_, i) => attempt(i)));

/**
 * A flood whose refusals can be awaited on their own: they are answered at once, while the
 * admitted attempts are still being checked one at a time (a few seconds of scrypt). What is
 * sent right after `refused(n)` meets a limiter that has counted the whole flood.
 */
function floodInFlight(n: number, attempt: (i: number) => Promise<Attempt>): { refused(count: number): Promise<void>; all: Promise<Attempt[]> } {
  let refusals = 0;
  const each = Array.from({ length: n }, (_, i) =>
    attempt(i).then((r) => {
      if (r.status === 429) refusals++;
      return r;
    }),
  );
  return { refused: (count) => waitFor(() => refusals >= count, 60_000, `${count} attempts refused`), all: Promise.all(each) };
}
const count = (rs: Attempt[], status: number) => rs.filter((r) => r.status === status).length;

/** The audit lines: one per password actually hashed. */
function checked(home: string): { client: string; ok: boolean; device: boolean }[] {
  const file = join(home, 'logs', 'codeplane.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"msg":"login attempt checked"'))
    .map((l) => JSON.parse(l) as { client: string; ok: boolean; device: boolean });
}

/** Waits until the log holds `n` audit lines (every hash logs before it answers, so all answered requests are in). */
async function checkedAfter(home: string, n: number): Promise<ReturnType<typeof checked>> {
  await waitFor(() => checked(home).length >= n, 10_000, `${n} audit lines`);
  return checked(home);
}

describe('a login flood from one address', () => {
  let server: ServerProcess;
  let cliToken: string;
  before(async () => {
    server = await startServerProcess({ cwd: makeRepo(), env: { CPL_PASSWORD: PASSWORD } });
    cliToken = readFileSync(join(server.home, 'run/cli-token'), 'utf8').trim();
  });
  after(async () => {
    await server?.stop();
  });

  it('gets 5 guesses checked out of 24 parallel ones, even with rotating X-Forwarded-For (no trusted proxy); a session, the CLI token and a known browser still get in', async () => {
    const start = checked(server.home).length;
    const owner = await login(server.url, PASSWORD);
    assert.equal(owner.status, 200);
    const session = owner.cookies['cpl_session']!;
    const device = owner.cookies['cpl_device']!;
    assert.match(device, /^cpl_device=v1\./);
    // The log is written asynchronously: the owner's own audit line must be in before the flood's are counted.
    const before = (await checkedAfter(server.home, start + 1)).length;

    const f = floodInFlight(24, (i) => login(server.url, `wrong password ${i}`, { 'x-forwarded-for': `198.51.100.${i}` }));
    await f.refused(19);
    // While the guesses are being checked: the owner's session and the local CLI token work as ever; the
    // flooded address is refused even with the right password; this browser, which logged in before, gets in.
    // A forged or altered device cookie is no one's: it counts as the flooded address.
    const forged = device.slice(0, -2) + (device.endsWith('AA') ? 'BB' : 'AA');
    const [jobs, cli, same, back, fake] = await Promise.all([
      rawRequest(server.url, { path: '/api/jobs', headers: { cookie: session } }),
      rawRequest(server.url, { path: '/api/jobs', headers: { authorization: `Bearer ${cliToken}` } }),
      login(server.url, PASSWORD),
      login(server.url, PASSWORD, { cookie: device }),
      login(server.url, PASSWORD, { cookie: forged }),
    ]);
    assert.equal(fake.status, 429);
    assert.equal(jobs.status, 200);
    assert.equal(cli.status, 200);
    assert.equal(same.status, 429);
    assert.equal(back.status, 200);
    assert.equal(back.cookies['cpl_device'], device, 'the same device cookie is kept');
    const rs = await f.all;
    assert.equal(count(rs, 401), 5);
    assert.equal(count(rs, 429), 19);
    assert.ok(rs.filter((r) => r.status === 429).every((r) => r.code === 'RATE_LIMITED' && Number(r.retryAfter) >= 1));
    const lines = (await checkedAfter(server.home, before + 6)).slice(before);
    assert.equal(lines.filter((l) => !l.device).length, 5, 'five guesses hashed, no more');
    assert.ok(lines.filter((l) => !l.device).every((l) => l.client === '127.0.0.1' && !l.ok));
    assert.ok(lines.some((l) => l.device && l.ok), "the owner's own check");
    assert.equal((await rawRequest(server.url, { path: '/api/jobs', headers: { cookie: device.replace('cpl_device', 'cpl_session') } })).status, 401, 'a device cookie is no session');
  });
});

const via = (ip: string | undefined, extra: Record<string, string> = {}) => ({ host: TUNNEL_HOST, origin: `https://${TUNNEL_HOST}`, ...(ip ? { 'cf-connecting-ip': ip } : {}), ...extra });

async function tunnelServer(config: Record<string, unknown> = {}): Promise<ServerProcess> {
  const home = mkdtempSync(join(tmpdir(), 'cpl-flood-tunnel-'));
  writeFileSync(join(home, 'config.json'), JSON.stringify(config));
  const server = await startServerProcess({ cwd: makeRepo(), home, args: ['--remote'], env: { PATH: `${join(ROOT, 'test/fixtures/tunnel-bin')}${delimiter}${BASE_PATH}`, CPL_PASSWORD: PASSWORD } });
  await waitFor(() => server.output().includes('Open it on your phone'), 20_000, 'the tunnel banner');
  return server;
}

describe('a login flood through a (fake) cloudflared tunnel, where every visitor is 127.0.0.1', () => {
  let server: ServerProcess;
  before(async () => {
    server = await tunnelServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('counts each visitor by the address Cloudflare saw: one attacker gets 5 checks, the owner on another address gets in', async () => {
    const before = checked(server.home).length;
    const f = floodInFlight(24, (i) => login(server.url, `guess number ${i}`, via('203.0.113.66', { 'x-forwarded-for': `10.9.8.${i}` })));
    await f.refused(19);
    const [attacker, owner] = await Promise.all([login(server.url, PASSWORD, via('203.0.113.66')), login(server.url, PASSWORD, via('192.0.2.44'))]);
    assert.equal(attacker.status, 429, 'the attacker is held back, even with the right password');
    assert.equal(owner.status, 200, 'the owner on another address is not held back by the attacker');
    assert.equal(count(await f.all, 401), 5);
    const lines = (await checkedAfter(server.home, before + 6)).slice(before);
    assert.equal(lines.filter((l) => l.client === '203.0.113.66').length, 5);
    assert.ok(lines.some((l) => l.client === '192.0.2.44' && l.ok));
  });

  it('without the header (the tunnel did not say), visitors share one key; a browser that logged in before still gets in', async () => {
    const known = await login(server.url, PASSWORD, via('198.51.100.20'));
    assert.equal(known.status, 200);
    const f = floodInFlight(12, (i) => login(server.url, `anonymous guess ${i}`, via(undefined)));
    await f.refused(7);
    const [stranger, owner] = await Promise.all([login(server.url, PASSWORD, via(undefined)), login(server.url, PASSWORD, via(undefined, { cookie: known.cookies['cpl_device']! }))]);
    assert.equal(stranger.status, 429, 'a stranger shares the flooded key');
    assert.equal(owner.status, 200, 'the browser that logged in before does not');
    assert.equal(count(await f.all, 401), 5);
  });
});

describe('a login flood from rotating addresses through the tunnel', () => {
  let server: ServerProcess;
  before(async () => {
    server = await tunnelServer({ loginAttemptsPerMinute: 8 });
  });
  after(async () => {
    await server?.stop();
  });

  it('is bounded by the global ceiling; a browser that logged in before, its session and the CLI token still get in', async () => {
    const start = checked(server.home).length;
    const phone = await login(server.url, PASSWORD, via('198.51.100.20'));
    assert.equal(phone.status, 200);
    const before = (await checkedAfter(server.home, start + 1)).length;
    const f = floodInFlight(24, (i) => login(server.url, `botnet guess ${i}`, via(`203.0.113.${100 + i}`)));
    await f.refused(24 - 7);
    // The ceiling is spent: a brand-new browser waits, like the attackers; the owner's phone, which logged in before, does not.
    const [stranger, owner] = await Promise.all([login(server.url, PASSWORD, via('192.0.2.99')), login(server.url, PASSWORD, via('198.51.100.20', { cookie: phone.cookies['cpl_device']! }))]);
    assert.equal(stranger.status, 429);
    assert.match(stranger.message ?? '', /from everywhere/);
    assert.equal(owner.status, 200);
    const rs = await f.all;
    const hashed = count(rs, 401);
    assert.ok(hashed <= 7, `${hashed} checked: at most 8 per minute from everywhere, one of them the owner's`);
    assert.equal(count(rs, 429), 24 - hashed);
    assert.ok(rs.filter((r) => r.status === 429).every((r) => /from everywhere/.test(r.message ?? '')));
    const lines = (await checkedAfter(server.home, before + hashed + 1)).slice(before);
    assert.equal(lines.filter((l) => !l.device).length, hashed);
    assert.equal((await rawRequest(server.url, { path: '/api/jobs', headers: via(undefined, { cookie: phone.cookies['cpl_session']! }) })).status, 200);
    const cliToken = readFileSync(join(server.home, 'run/cli-token'), 'utf8').trim();
    assert.equal((await rawRequest(server.url, { path: '/api/jobs', headers: { authorization: `Bearer ${cliToken}` } })).status, 200);
  });
});

describe('X-Forwarded-For from a trusted proxy', () => {
  let server: ServerProcess;
  before(async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-flood-proxy-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ trustedProxies: ['127.0.0.1'], loginAttemptsPerMinute: 8 }));
    server = await startServerProcess({ cwd: makeRepo(), home, env: { CPL_PASSWORD: PASSWORD } });
  });
  after(async () => {
    await server?.stop();
  });

  it('uses the right-most untrusted hop: rotating what the client wrote to the left changes nothing', async () => {
    const rs = await flood(24, (i) => login(server.url, `proxy guess ${i}`, { 'x-forwarded-for': `10.0.${i}.1, 203.0.113.7` }));
    assert.equal(count(rs, 401), 5);
    const lines = await checkedAfter(server.home, 5);
    assert.equal(lines.length, 5);
    assert.ok(lines.every((l) => l.client === '203.0.113.7'));
  });

  it('rotating the right-most hop is bounded by the global ceiling, not unlimited', async () => {
    const rs = await flood(30, (i) => login(server.url, `rotating guess ${i}`, { 'x-forwarded-for': `198.51.100.${i + 1}` }));
    assert.ok(count(rs, 401) <= 8, `${count(rs, 401)} checked: at most 8 per minute from everywhere`);
    assert.equal(count(rs, 429), 30 - count(rs, 401));
    const lines = await checkedAfter(server.home, 5 + count(rs, 401));
    assert.equal(lines.length, 5 + count(rs, 401));
  });
});
