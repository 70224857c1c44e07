import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

/** Per-repository setup: .worktreeinclude files copied, the setup command run before the agent starts. */
describe('per-repository worktree setup', () => {
  let good: string;
  let bad: string;
  let server: ServerProcess;
  before(async () => {
    good = makeRepo('cpl-setup-good-');
    writeFileSync(join(good, '.gitignore'), '.env\n');
    writeFileSync(join(good, '.worktreeinclude'), '.env\n');
    git(good, 'add', '.');
    git(good, 'commit', '-qm', 'ignore .env');
    writeFileSync(join(good, '.env'), 'SECRET=local\n');
    bad = makeRepo('cpl-setup-bad-');
    const home = mkdtempSync(join(tmpdir(), 'cpl-home-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ setupCommands: { [good]: 'echo installing deps && touch .setup-done', [bad]: 'echo broken dependency >&2; exit 3' } }));
    server = await startServerProcess({ cwd: good, home });
    assert.equal((await api(server.url, 'POST', '/api/repos', { path: bad })).status, 201);
  });
  after(async () => {
    await server?.stop();
  });

  it('copies .worktreeinclude files and runs the setup command, its output in the job log', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo: good, prompt: 'hi', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'review', 30_000);
    sse.close();
    assert.equal(readFileSync(join(job.worktreePath, '.env'), 'utf8'), 'SECRET=local\n');
    assert.ok(existsSync(join(job.worktreePath, '.setup-done')));
    const logs = (await api<{ message: string }[]>(server.url, 'GET', `/api/jobs/${job.id}/logs`)).body.map((l) => l.message);
    assert.ok(logs.includes('installing deps'), logs.join(' | '));
  });

  it('a failing setup command fails the job with its output as the reason', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo: bad, prompt: 'hi', agent: 'claude' });
    const failed = await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'failed', 30_000);
    sse.close();
    assert.match(String(failed.data['reason']), /setup command failed \(exit 3\)[\s\S]*broken dependency/);
  });
});
