/**
 * Where the sandbox cannot be built and the user has not opted out, no agent starts: creating a
 * job is refused with 503 SANDBOX_UNAVAILABLE naming the reason and the fix, nothing is written,
 * and the server itself keeps running (and says so in its log). Installing bubblewrap (here: the
 * configured path starts to exist) is picked up without a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { findBwrap } from '../../supervisor/sandbox/sandbox-probe.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

describe('sandbox unavailable: jobs are refused, the server keeps running', () => {
  let server: ServerProcess;
  let repo: string;
  let home: string;
  let bin: string;

  before(async () => {
    repo = makeRepo();
    home = mkdtempSync(join(tmpdir(), 'cpl-sbx-unavail-'));
    bin = mkdtempSync(join(tmpdir(), 'cpl-sbx-bin-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ bwrapPath: join(bin, 'bwrap') }));
    server = await startServerProcess({ cwd: repo, home });
  });
  after(async () => {
    await server?.stop();
    for (const d of [repo, home, bin]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('POST /api/jobs answers 503 SANDBOX_UNAVAILABLE with the reason and the fix; no job is created', async () => {
    const res = await api<{ error: { code: string; message: string; details?: { reason?: string; fix?: string } } }>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: 'hello', permissionMode: 'full_auto' });
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'SANDBOX_UNAVAILABLE');
    assert.match(res.body.error.message, /bwrap.*not found/);
    assert.match(res.body.error.message, /install bubblewrap/);
    assert.match(res.body.error.message, /"sandbox": "off"/);
    assert.equal(res.body.error.details?.reason, 'BWRAP_NOT_FOUND');
    const jobs = (await api<{ items: Job[] }>(server.url, 'GET', '/api/jobs')).body.items;
    assert.deepEqual(jobs, [], 'nothing was written');
    assert.equal((await api(server.url, 'GET', '/api/health')).status, 200, 'the server still answers');
    assert.match(readFileSync(join(home, 'logs', 'codeplane.log'), 'utf8'), /agent sandbox is unavailable.*jobs are refused until it is fixed/);
  });

  it('once bubblewrap is there, the next job is accepted without a restart', async () => {
    const real = findBwrap(undefined);
    assert.ok(real, 'this machine has bubblewrap (CI installs it)');
    symlinkSync(real, join(bin, 'bwrap'));
    const res = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: 'hello', permissionMode: 'full_auto' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await api(server.url, 'POST', `/api/jobs/${res.body.id}/cancel`, {});
  });
});
