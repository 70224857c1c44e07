/**
 * The sandbox dies with its worker: a worker killed with SIGKILL (no cleanup of its own) takes
 * its agent CLI and every process the agent started with it (bubblewrap's --die-with-parent and
 * the pid namespace, whose end kills all inside). Without that, a tool the agent started could
 * keep running, and writing, after its job was gone: the tool here leaves its CLI's process group
 * and session (`setsid`), which no process-group kill would reach (with `"sandbox": "off"` it
 * outlives the worker: checked by hand when this test was written).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { pidsByCommandLine, waitFor, workerPid } from '../helpers/processes.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

describe('the sandbox dies with its worker', () => {
  let server: ServerProcess;
  let repo: string;
  let home: string;

  before(async () => {
    repo = makeRepo();
    home = mkdtempSync(join(tmpdir(), 'cpl-sbx-life-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ workerNice: 0 }));
    server = await startServerProcess({ cwd: repo, home });
  });
  after(async () => {
    await server?.stop();
    for (const d of [repo, home]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('kill -9 of the worker: the agent and the tool it runs are gone too', { timeout: 180_000 }, async () => {
    const sleep = `600.${process.pid}${Date.now() % 100_000}`;
    const res = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: `[[bash echo started > started.txt; setsid -f sleep ${sleep}; exec sleep 599]]`, permissionMode: 'full_auto' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const job = res.body;
    await waitFor(() => pidsByCommandLine(`sleep ${sleep}`).length > 0, 90_000, 'the tool to run');
    const worktree = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.worktreePath;
    assert.ok(existsSync(join(worktree, 'started.txt')), 'the tool ran in the job');
    const worker = workerPid(job.id);
    assert.ok(worker, 'the job has a worker');
    process.kill(worker, 'SIGKILL');
    await waitFor(() => pidsByCommandLine(`sleep ${sleep}`).length === 0, 20_000, "the killed worker's tool to be gone");
  });
});
