import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

describe('a diff asked for while the job is discarded', () => {
  it('answers 200 or 409 DIFF_UNAVAILABLE, never a 500, however the requests interleave with the worktree removal', async () => {
    const repo = makeRepo();
    const server = await startServerProcess({ cwd: repo });
    servers.push(server);
    const sse = await SseClient.open(`${server.url}/api/events`);
    const statuses = new Map<number, number>();
    const codes = new Set<string>();
    for (let round = 0; round < 3; round++) {
      const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: `change ${round} [[write f${round}.txt hello ${'x'.repeat(2000)}]]`, agent: 'claude', permissionMode: 'full_auto' });
      await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'review', 60_000, `job ${round} in review`);
      // Diffs keep being asked for, before, during and after the discard removes the worktree.
      let stop = false;
      const hammer = async () => {
        while (!stop) {
          const r = await api<{ error?: { code: string } }>(server.url, 'GET', `/api/jobs/${job.id}/diff`);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.body.error) codes.add(r.body.error.code);
        }
      };
      const hammers = [hammer(), hammer(), hammer(), hammer()];
      const discard = await api(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'discard' });
      assert.equal(discard.status, 200, JSON.stringify(discard.body));
      // A few more rounds after the resolution is recorded.
      await api(server.url, 'GET', `/api/jobs/${job.id}/diff`);
      stop = true;
      await Promise.all(hammers);
    }
    sse.close();
    assert.deepEqual([...statuses.keys()].filter((s) => s !== 200 && s !== 409), [], `statuses seen: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(409) ?? 0) > 0, 'the requests after the discard were refused');
    assert.deepEqual([...codes].filter((c) => c !== 'DIFF_UNAVAILABLE' && c !== 'WORKTREE_MISSING'), [], `codes: ${[...codes].join(', ')}`);
  });
});
