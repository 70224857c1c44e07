import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cpl } from '../helpers/cpl.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { parseSetCookie, rawRequest } from '../helpers/http-raw.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

/** A session belongs to the password it was made with: another password, by whatever route, ends it. */
const A = 'password number one';
const B = 'password number two';

async function loginCookie(server: ServerProcess, password: string): Promise<string> {
  const res = await rawRequest(server.url, { method: 'POST', path: '/api/auth/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });
  assert.equal(res.status, 200, res.text);
  return parseSetCookie(res.headers['set-cookie'])!.pair;
}

const jobsWith = async (server: ServerProcess, cookie: string): Promise<number> => (await rawRequest(server.url, { path: '/api/jobs', headers: { cookie } })).status;

/** Runs `body` against a server on `home` started with `env`/`args`, and stops it. */
async function withServer<T>(home: string, repo: string, start: { env?: NodeJS.ProcessEnv; args?: string[] }, body: (s: ServerProcess) => Promise<T>): Promise<T> {
  const server = await startServerProcess({ cwd: repo, home, env: { CPL_PASSWORD: '', ...start.env }, ...(start.args ? { args: start.args } : {}) });
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}

describe('password rotation ends sessions', () => {
  it('by CPL_PASSWORD across a restart: the same password keeps the session, another ends it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-rot-env-'));
    const repo = makeRepo();
    const underA = await withServer(home, repo, { env: { CPL_PASSWORD: A } }, async (s) => {
      const c = await loginCookie(s, A);
      assert.equal(await jobsWith(s, c), 200);
      return c;
    });
    await withServer(home, repo, { env: { CPL_PASSWORD: A } }, async (s) => {
      assert.equal(await jobsWith(s, underA), 200, 'the same CPL_PASSWORD after a restart: the session lives on');
    });
    const underB = await withServer(home, repo, { env: { CPL_PASSWORD: B } }, async (s) => {
      assert.equal(await jobsWith(s, underA), 401, 'CPL_PASSWORD changed: the session made under A is over');
      const c = await loginCookie(s, B);
      assert.equal(await jobsWith(s, c), 200);
      return c;
    });
    await withServer(home, repo, { env: { CPL_PASSWORD: A } }, async (s) => {
      assert.equal(await jobsWith(s, underB), 401, 'back to A: the session made under B is over');
      assert.equal(await jobsWith(s, underA), 401, 'and A is a new generation: the old session stays over');
    });
  });

  it('by --password: the same password by flag or env keeps the session, another flag ends it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-rot-flag-'));
    const repo = makeRepo();
    const cookie = await withServer(home, repo, { args: ['--password', A] }, (s) => loginCookie(s, A));
    await withServer(home, repo, { env: { CPL_PASSWORD: A } }, async (s) => {
      assert.equal(await jobsWith(s, cookie), 200, 'the same password through the environment');
    });
    await withServer(home, repo, { args: ['--password', B] }, async (s) => {
      assert.equal(await jobsWith(s, cookie), 401);
    });
  });

  it('between a stored password and a run password, and by `cpl password set`', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-rot-stored-'));
    const repo = makeRepo();
    assert.equal((await cpl(['password', 'set'], { CODEPLANE_HOME: home }, { stdin: `${A}\n`, ms: 120_000 })).code, 0);
    const stored = await withServer(home, repo, {}, (s) => loginCookie(s, A));
    await withServer(home, repo, { env: { CPL_PASSWORD: A } }, async (s) => {
      // The same words, but another password in force (a run password wins over the stored one): a new generation.
      assert.equal(await jobsWith(s, stored), 401);
    });
    await withServer(home, repo, {}, async (s) => {
      const c = await loginCookie(s, A);
      assert.equal((await cpl(['password', 'set'], { CODEPLANE_HOME: home }, { stdin: `${B}\n`, ms: 120_000 })).code, 0);
      assert.equal(await jobsWith(s, c), 401, 'cpl password set on a running server ends the session at once');
      assert.equal(await jobsWith(s, await loginCookie(s, B)), 200);
    });
  });
});
