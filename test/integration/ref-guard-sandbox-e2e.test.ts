/**
 * The ref guard behind the sandbox (issue 13, config `sandbox: "on"`, bubblewrap): the same
 * attacks as ref-guard-e2e from a full_auto agent fail at the sandbox, so the user's refs and
 * HEAD never move at all and the guard, checking every turn, finds nothing to undo; the job's
 * own commit still lands on its branch.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Approval, Job } from '../../api/contract.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

const STEP_MS = 180_000;

describe('issue 13: with the sandbox on, the attacks on refs fail before the guard has anything to undo', () => {
  let server: ServerProcess;
  let sse: SseClient;
  let repo: string;
  let home: string;

  before(async () => {
    repo = makeRepo('cpl-refguard-sb-');
    git(repo, 'branch', 'doomed');
    home = mkdtempSync(join(tmpdir(), 'cpl-refguard-sb-home-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ sandbox: 'on', workerNice: 0 }));
    server = await startServerProcess({ cwd: repo, home, env: { COPILOT_HOME: undefined, CLAUDE_CONFIG_DIR: undefined } });
    sse = await SseClient.open(`${server.url}/api/events`);
  });
  after(async () => {
    sse?.close();
    await server?.stop();
    for (const d of [repo, home]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('interpreter, update-ref, symbolic-ref, branch -D, tag: nothing moves, no alarm, the job keeps its commit', { timeout: 600_000 }, async () => {
    const main = git(repo, 'rev-parse', 'main');
    const doomed = git(repo, 'rev-parse', 'doomed');
    const prompt = [
      'git -c user.name=a -c user.email=a@a commit -q --allow-empty -m mine',
      `node -e "const cp=require('child_process'),fs=require('fs');const d=cp.execSync('git rev-parse --git-common-dir').toString().trim();fs.writeFileSync(d+'/refs/heads/main',cp.execSync('git rev-parse HEAD'))"`,
      'git update-ref refs/heads/main HEAD',
      'git --git-dir="$(git rev-parse --git-common-dir)" symbolic-ref HEAD refs/heads/evil',
      'git branch -D doomed',
      'git tag evil-tag',
    ].map((c) => `[[bash ${c}]]`).join('\n');
    const created = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt, permissionMode: 'full_auto' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const job = created.body;
    const answered = new Set<string>();
    for (;;) {
      const e = await sse.waitFor(
        (x) => x.data['jobId'] === job.id && ((x.event === 'approval_requested' && !answered.has((x.data['approval'] as Approval).id)) || (x.event === 'job_state_changed' && ['review', 'failed'].includes(String(x.data['to'])))),
        STEP_MS,
        'the turn to end',
      );
      if (e.event === 'job_state_changed') {
        assert.equal(e.data['to'], 'review', JSON.stringify(e.data));
        break;
      }
      const a = e.data['approval'] as Approval;
      answered.add(a.id);
      await api(server.url, 'POST', `/api/approvals/${a.id}/resolve`, { resolution: 'approved' });
    }
    // The guard's end-of-turn check is logged once done.
    const deadline = performance.now() + 60_000;
    const log = () => readFileSync(join(home, 'logs', 'codeplane.log'), 'utf8').split('\n').filter((l) => l.includes(job.id) && l.includes('"ref guard: turn checked"'));
    while (log().length === 0) {
      assert.ok(performance.now() < deadline, 'the turn was never checked');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((JSON.parse(log()[0]!) as { changes: number }).changes, 0, 'the guard found nothing to undo');
    assert.deepEqual(sse.events.filter((x) => x.event === 'containment_alarm' && x.data['jobId'] === job.id), []);
    assert.equal(git(repo, 'rev-parse', 'main'), main);
    assert.equal(readFileSync(join(repo, '.git', 'HEAD'), 'utf8'), 'ref: refs/heads/main\n');
    assert.equal(git(repo, 'rev-parse', 'doomed'), doomed);
    assert.throws(() => git(repo, 'rev-parse', '--verify', '--quiet', 'refs/tags/evil-tag'));
    assert.equal(git(repo, 'log', '-1', '--format=%s', job.branch), 'mine', "the job's own commit is on its branch");
    const results = sse.events.filter((x) => x.event === 'transcript_update' && x.data['jobId'] === job.id).map((x) => x.data['entry'] as { role: string; toolSuccess?: boolean; toolOutput?: string }).filter((t) => t.role === 'tool_result');
    assert.equal(results.length, 6);
    assert.equal(results[0]!.toolSuccess, true, `the job's own commit works in the sandbox: ${results[0]!.toolOutput}`);
    for (const r of results.slice(1)) assert.equal(r.toolSuccess, false, `the sandbox refused it: ${r.toolOutput}`);
  });
});
