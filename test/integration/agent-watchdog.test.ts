import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import type { LogLine } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { agentPids, alive, waitFor, workerPid } from '../helpers/processes.ts';
import { api, ROOT, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

/**
 * A hung agent CLI (it stops answering anything, even an interrupt) is caught by the worker's
 * watchdog: the turn fails with a readable reason, and neither the CLI nor the worker is left.
 */
describe('the agent watchdog through the real server', () => {
  let repo: string;
  let server: ServerProcess;

  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({
      cwd: repo,
      env: { CODEPLANE_WATCHDOG_MS: '1500', CODEPLANE_COPILOT_PATH: join(ROOT, 'test/fixtures/fake-copilot') },
    });
  });
  after(async () => {
    await server?.stop();
  });

  /** The fake CLIs print their pid on stderr first (the adapters log stderr lines); sandboxed, the worker logs the sandbox's host pid. */
  async function cliPid(jobId: string, name: string): Promise<number> {
    let pid: number | undefined;
    const deadline = Date.now() + 10_000;
    while (pid === undefined && Date.now() < deadline) {
      const logs = (await api<LogLine[]>(server.url, 'GET', `/api/jobs/${jobId}/logs?limit=5000`)).body;
      if (logs.some((l) => l.message.includes(`${name} started pid=`))) pid = agentPids(logs.map((l) => l.message), name)[0];
      if (pid === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(pid, `the ${name} pid is in the job log`);
    return pid;
  }

  for (const [agent, name] of [
    ['claude', 'fake-claude'],
    ['copilot', 'fake-copilot'],
  ] as const) {
    it(`${agent}: a silent agent is interrupted, the job fails with the reason, and no process is left`, async () => {
      const sse = await SseClient.open(`${server.url}/api/events`);
      const created = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'think hard [[hang]]', agent, permissionMode: 'full_auto' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const job = created.body;
      await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'running', 30_000, 'running');
      const started = Date.now();
      const pid = await cliPid(job.id, name);
      const worker = workerPid(job.id);
      const failed = await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'failed', 30_000, 'failed');
      sse.close();
      assert.ok(Date.now() - started >= 1000, 'not before the watchdog time');
      assert.equal(failed.data['reason'], 'the agent produced no output for 1.5 s; interrupted');
      const final = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
      assert.equal(final.state, 'failed');
      assert.equal(final.failureReason, 'the agent produced no output for 1.5 s; interrupted');
      await waitFor(() => !alive(pid), 20_000, `the hung ${name} (pid ${pid}) to be gone`);
      if (worker) await waitFor(() => !alive(worker), 20_000, 'the worker to exit');
      const logs = (await api<LogLine[]>(server.url, 'GET', `/api/jobs/${job.id}/logs?limit=5000`)).body;
      assert.ok(logs.some((l) => l.level === 'warn' && l.message.startsWith('watchdog:')), 'the watchdog says what it did in the job log');
    });
  }

  it('a slow but talkative agent is not interrupted', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    // 40 ticks 50 ms apart: 2 s in all, longer than the watchdog, but never silent for long.
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 40]]', agent: 'claude', permissionMode: 'full_auto' });
    const end = await sse.waitFor(
      (e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && (e.data['to'] === 'review' || e.data['to'] === 'failed'),
      30_000,
      'the turn to end',
    );
    sse.close();
    assert.equal(end.data['to'], 'review', String(end.data['reason']));
  });
});
