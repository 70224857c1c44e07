import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

const FILES = 10_000;
const FILE_BYTES = 5_000; // 10,000 × 5 kB = 50 MB of change

interface DiffPage {
  files: { path: string }[];
  truncated?: boolean;
  nextOffset?: number;
  stats?: { files: number };
}

describe('a huge change through the API (10,000 files, 50 MB)', () => {
  let repo: string;
  let server: ServerProcess;
  let job: Job;
  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({ cwd: repo });
    const sse = await SseClient.open(`${server.url}/api/events`);
    job = (await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'make room', agent: 'claude', permissionMode: 'full_auto' })).body;
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'review', 60_000, 'review');
    sse.close();
    const line = `${'y'.repeat(99)}\n`;
    const body = line.repeat(FILE_BYTES / line.length);
    for (let d = 0; d < FILES / 500; d++) {
      mkdirSync(join(job.worktreePath, 'gen', `d${d}`), { recursive: true });
      for (let i = 0; i < 500; i++) writeFileSync(join(job.worktreePath, 'gen', `d${d}`, `f${i}.txt`), body);
    }
  });
  after(async () => {
    await server?.stop();
  });

  it('answers with a bounded, marked page while the server keeps answering other requests', async () => {
    let diffDone = false;
    let healthAnsweredDuringDiff = 0;
    const healthFailures: string[] = [];
    const probes = (async () => {
      while (!diffDone) {
        const r = await fetch(`${server.url}/api/health`).catch((e: unknown) => String(e instanceof Error && e.cause ? e.cause : e));
        if (typeof r === 'string') healthFailures.push(r);
        else if (r.status !== 200) healthFailures.push(`HTTP ${r.status} ${await r.text()}`);
        else if (!diffDone) healthAnsweredDuringDiff++;
        if (typeof r !== 'string') await r.text().catch(() => '');
      }
    })();
    const res = await fetch(`${server.url}/api/jobs/${job.id}/diff`);
    const text = await res.text();
    diffDone = true;
    await probes;
    assert.equal(res.status, 200, text.slice(0, 300));
    const page = JSON.parse(text) as DiffPage;
    assert.equal(page.truncated, true, 'the page says it is not the whole change');
    assert.ok(page.files.length < FILES, `a page, not all ${FILES} files (got ${page.files.length})`);
    assert.equal(typeof page.nextOffset, 'number');
    assert.ok(text.length < 8 * 1024 * 1024, `the response is bounded (${text.length} bytes)`);
    assert.deepEqual(healthFailures, []);
    assert.ok(healthAnsweredDuringDiff > 0, 'the API answered while the diff was being computed (parsing is off the event loop)');

    // The next page continues where this one stopped.
    const next = await api<DiffPage>(server.url, 'GET', `/api/jobs/${job.id}/diff?offset=${page.nextOffset}`);
    assert.equal(next.status, 200);
    assert.ok(next.body.files.length > 0);
    assert.ok(!next.body.files.some((f) => page.files.some((g) => g.path === f.path)), 'no file repeated across pages');
  });
});
