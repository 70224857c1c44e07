import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job, JobPage } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient, type SseEvent } from '../helpers/sse-client.ts';

const to = (jobId: string, state: string) => (e: SseEvent) => e.event === 'job_state_changed' && e.data['jobId'] === jobId && e.data['to'] === state;
const MiB = 1024 * 1024;

describe('disk used by a job worktree, and the diff of a job without one', () => {
  let repo: string;
  let server: ServerProcess;
  let home: string;
  before(async () => {
    repo = makeRepo();
    home = mkdtempSync(join(tmpdir(), 'cpl-home-'));
    // One slot: a second job stays queued behind the first.
    writeFileSync(join(home, 'config.json'), JSON.stringify({ maxConcurrentJobs: 1 }));
    server = await startServerProcess({ cwd: repo, home });
  });
  after(async () => {
    await server?.stop();
  });

  it('a queued job has no diff yet: 409 DIFF_UNAVAILABLE, not a server error', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: busy } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'hold the slot [[slow 200]]', agent: 'claude', permissionMode: 'full_auto' });
    const { body: queued } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'wait your turn', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor(to(busy.id, 'running'), 30_000, 'first job running');
    assert.equal((await api<Job>(server.url, 'GET', `/api/jobs/${queued.id}`)).body.state, 'queued');
    const diff = await api<{ error: { code: string; message: string } }>(server.url, 'GET', `/api/jobs/${queued.id}/diff`);
    assert.equal(diff.status, 409);
    assert.equal(diff.body.error.code, 'DIFF_UNAVAILABLE');
    assert.match(diff.body.error.message, /queued/);
    assert.equal((await api<Job>(server.url, 'GET', `/api/jobs/${queued.id}`)).body.diskUsage, undefined, 'no worktree, no figure');
    await api(server.url, 'POST', `/api/jobs/${busy.id}/cancel`);
    await api(server.url, 'POST', `/api/jobs/${queued.id}/cancel`);
    await sse.waitFor(to(busy.id, 'canceled'), 30_000, 'canceled');
    sse.close();
  });

  it('shows the bytes a worktree uses, and follows the agent as it writes', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[write notes.txt hello]]', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor(to(job.id, 'review'), 60_000, 'review');
    let first: Job['diskUsage'];
    for (let i = 0; i < 50 && !first; i++) {
      first = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.diskUsage;
      if (!first) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(first, 'a job in review reports its disk usage');
    assert.ok(first.bytes > 0 && first.complete);

    // The agent writes 3 MiB; the diff it triggers re-measures the worktree.
    writeFileSync(join(job.worktreePath, 'big.bin'), Buffer.alloc(3 * MiB, 7));
    await api(server.url, 'POST', `/api/jobs/${job.id}/messages`, { content: 'check [[bash ls]]' });
    await sse.waitFor((e) => e.event === 'diff_update' && e.data['jobId'] === job.id && (e.data['stats'] as { files?: number } | undefined)?.files === 2, 60_000, 'diff with big.bin');
    let listed: Job | undefined;
    for (let i = 0; i < 100; i++) {
      listed = (await api<JobPage>(server.url, 'GET', '/api/jobs')).body.items.find((j) => j.id === job.id);
      if (listed?.diskUsage && listed.diskUsage.bytes >= first.bytes + 3 * MiB) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(listed?.diskUsage && listed.diskUsage.bytes >= first.bytes + 3 * MiB, `the listing shows the new size: ${JSON.stringify(listed?.diskUsage)}`);

    // The agent's private home (sessions, copied login entries) must not outlive a resolved job.
    const agentHome = join(home, 'jobs', job.id, 'agent-home');
    mkdirSync(agentHome, { recursive: true });
    writeFileSync(join(agentHome, 'config.json'), '{"loggedInUsers":[]}');
    const res = await api<Job>(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'discard' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    let gone: Job | undefined;
    for (let i = 0; i < 100; i++) {
      gone = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
      if (gone.diskUsage === undefined) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(gone?.diskUsage, undefined, 'a discarded worktree uses nothing');
    assert.equal(existsSync(agentHome), false, "the agent's home went with the job");
    sse.close();
  });
});
