import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { relaunchArgs } from '../../supervisor/cli/server-relaunch.ts';
import { cpl } from '../helpers/cpl.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { alive, waitFor } from '../helpers/processes.ts';
import { api, FAKE_CLAUDE, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

const PASSWORD = 'first-run-password-42';
const serverPid = (home: string): number => (JSON.parse(readFileSync(join(home, 'run', 'server.json'), 'utf8')) as { pid: number }).pid;
const login = async (url: string, password: string) => (await api(url, 'POST', '/api/auth/login', { password })).status;

describe('cpl restart keeps the settings the server was started with', () => {
  it('the password, the environment and the bound port survive restarts run from a shell that has none of them', async () => {
    const repo = makeRepo();
    // The agent's path and the password exist only in the first `cpl up`'s environment.
    const first = await startServerProcess({ cwd: repo, env: { CPL_PASSWORD: PASSWORD, CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE } });
    servers.push(first);
    assert.equal(await login(first.url, PASSWORD), 200);
    const bare = { CODEPLANE_HOME: first.home, HOME: first.home, CPL_PASSWORD: '', CODEPLANE_CLAUDE_PATH: '/nonexistent/claude' };
    const pids: number[] = [serverPid(first.home)];
    for (let round = 1; round <= 2; round++) {
      const restarted = await cpl(['restart'], bare, { cwd: repo, ms: 90_000 });
      assert.equal(restarted.code, 0, restarted.out);
      assert.equal(/listening on (http:\/\/\S+)/.exec(restarted.out)?.[1], first.url, `the port picked at the first start is kept: ${restarted.out}`);
      const pid = serverPid(first.home);
      assert.ok(!pids.includes(pid), 'a new server process');
      // The first process stays as the launcher; every later server exits when it is replaced.
      if (round > 1) await waitFor(() => !alive(pids[pids.length - 1]!), 30_000, 'the previous server exited (restarts do not stack processes)');
      assert.ok(alive(first.child.pid!), 'the first process waits for its successor');
      pids.push(pid);
      assert.equal(await login(first.url, PASSWORD), 200, `round ${round}: the first run's password still works`);
      assert.equal(await login(first.url, 'not-the-password'), 401);
    }
    // The agent path from the first environment: a new job runs the fake agent to review.
    const auth = { authorization: `Bearer ${readFileSync(join(first.home, 'run', 'cli-token'), 'utf8').trim()}` };
    const created = await api<Job>(first.url, 'POST', '/api/jobs', { repo, prompt: 'hello', agent: 'claude', permissionMode: 'full_auto' }, auth);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const deadline = Date.now() + 60_000;
    let job = created.body;
    while (job.state !== 'review' && job.state !== 'failed' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await api<Job>(first.url, 'GET', `/api/jobs/${created.body.id}`, undefined, auth)).body;
    }
    assert.equal(job.state, 'review', `the job ran the first run's agent: ${job.failureReason ?? ''}`);
    // `cpl down` stops the latest server, and the first process (the launcher) ends with it.
    const down = await cpl(['down'], bare);
    assert.equal(down.code, 0, down.out);
    const code = await new Promise<number | null>((resolve) => (first.child.exitCode !== null ? resolve(first.child.exitCode) : first.child.once('exit', resolve)));
    assert.equal(code, 0);
  });

  it('refuses options instead of silently dropping the running settings', async () => {
    const home = makeRepo();
    const run = await cpl(['restart', '--port', '9999'], { CODEPLANE_HOME: home, HOME: home });
    assert.equal(run.code, 2);
    assert.match(run.out, /takes no options/);
  });
});

describe('relaunchArgs', () => {
  it('keeps every flag and fixes the port to the one bound', () => {
    assert.deepEqual(relaunchArgs(['up', '--port', '0', '--host', '127.0.0.1', '--password', 'p w'], 41234), ['up', '--host', '127.0.0.1', '--password', 'p w', '--port', '41234']);
    assert.deepEqual(relaunchArgs(['up', '--port=0', '--remote'], 8080), ['up', '--remote', '--port', '8080']);
    assert.deepEqual(relaunchArgs(['up'], 8080), ['up', '--port', '8080']);
  });
});
