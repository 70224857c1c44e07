import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { statusText } from '../../supervisor/cli/cli-status.ts';
import { cpl } from '../helpers/cpl.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

describe('cpl status', () => {
  it('prints the jobs by state: waiting for approval, review and running listed, the finished counted', async () => {
    const repo = makeRepo();
    const home = mkdtempSync(join(tmpdir(), 'cpl-home-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ maxJobsPerRepo: 4 }));
    const server = await startServerProcess({ cwd: repo, home });
    servers.push(server);
    const sse = await SseClient.open(`${server.url}/api/events`);
    const create = async (prompt: string, permissionMode: string) => (await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt, agent: 'claude', permissionMode })).body;
    const waiting = await create('[[write asked.txt hello]]', 'review_and_approve');
    const reviewed = await create('just answer', 'full_auto');
    const hanging = await create('[[hang]]', 'full_auto');
    const canceled = await create('[[hang]]', 'full_auto');
    const reached = (id: string, to: string) => sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === id && e.data['to'] === to, 60_000, `${id} ${to}`);
    await Promise.all([reached(waiting.id, 'waiting_for_approval'), reached(reviewed.id, 'review'), reached(hanging.id, 'running'), reached(canceled.id, 'running')]);
    await api(server.url, 'POST', `/api/jobs/${canceled.id}/cancel`);
    await reached(canceled.id, 'canceled');
    sse.close();

    const run = await cpl(['status'], { CODEPLANE_HOME: server.home, HOME: server.home });
    assert.equal(run.code, 0, run.out);
    const section = (title: string) => {
      const lines = run.out.split('\n');
      const at = lines.findIndex((l) => l.startsWith(title));
      assert.ok(at >= 0, `a "${title}" section in:\n${run.out}`);
      const body: string[] = [];
      for (const l of lines.slice(at + 1)) {
        if (!l.startsWith('  ')) break;
        body.push(l);
      }
      return { header: lines[at]!, body };
    };
    const w = section('waiting for approval');
    assert.equal(w.header, 'waiting for approval (1)');
    assert.match(w.body.join('\n'), new RegExp(waiting.id));
    const r = section('review');
    assert.equal(r.header, 'review (1)');
    assert.match(r.body.join('\n'), new RegExp(reviewed.id));
    const running = section('running');
    assert.equal(running.header, 'running (1)');
    assert.match(running.body.join('\n'), new RegExp(hanging.id));
    assert.match(run.out, /canceled 1/);
    assert.doesNotMatch(run.out, new RegExp(`  ${canceled.id}`), 'a finished job is counted, not listed');
  });

  it('says so when no server is running', async () => {
    const home = makeRepo();
    const run = await cpl(['status'], { CODEPLANE_HOME: home, HOME: home });
    assert.equal(run.code, 2);
    assert.match(run.out, /no server is running/);
  });
});

describe('statusText', () => {
  it('escapes control characters in job titles', () => {
    const text = statusText('http://127.0.0.1:1', { version: '1', uptimeSeconds: 3 }, [{ id: 'j1', state: 'review', title: 'evil\u001b]52;c;Zm9v\u0007title', repo: '/r/x' }], false);
    assert.doesNotMatch(text, /\u001b/);
    assert.match(text, /review \(1\)/);
  });

  it('says when the storage refuses writes, and says nothing when it is ok', () => {
    const ok = statusText('http://127.0.0.1:1', { version: '1', uptimeSeconds: 3, storage: { state: 'ok', logLinesDropped: 0 } }, [], false);
    assert.doesNotMatch(ok, /storage/);
    const full = statusText('http://127.0.0.1:1', { version: '1', uptimeSeconds: 3, storage: { state: 'read_only', cause: 'disk_full', reason: 'the disk is full', since: 'x', logLinesDropped: 2 } }, [], false);
    assert.match(full, /storage: read_only \(disk_full\): the disk is full; writes are refused/);
    const lost = statusText('http://127.0.0.1:1', { version: '1', uptimeSeconds: 3, storage: { state: 'identity_problem', problem: 'deleted', reason: 'gone', since: 'x', logLinesDropped: 0 } }, [], false);
    assert.match(lost, /storage: identity_problem \(deleted\): gone/);
  });
});
