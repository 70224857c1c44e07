/**
 * An approval pending across the other kinds of stop: a reboot (server and worker gone), the
 * server killed -9 (the worker keeps running), cpl restart, a worker crash, and an answer given
 * before the new worker runs. Every restart is a job_restarted event with its kind.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Approval, Job } from '../../api/contract.ts';
import { cpl } from '../helpers/cpl.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { alive, waitFor, workerPid, workerPids } from '../helpers/processes.ts';
import { api } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { answer, assertApprovedRan, assertStillPending, cplDown, jobEvents, jobWaitingForApproval, killServer, servers, settled, start } from '../helpers/approval-restart.ts';

after(async () => {
  for (const s of servers) await s.stop();
});

describe('an approval pending across other stops (claude)', () => {
  it('a reboot (server and worker killed -9), then cpl down / up: the approval stays pending across both, each restart recorded with its kind, approving runs the command', async () => {
    const repo = makeRepo();
    const first = await start(repo);
    const marker = 'after-reboot.txt';
    const { job, approvalId } = await jobWaitingForApproval(first, repo, 'claude', marker);
    const sessionBefore = (await api<Job>(first.url, 'GET', `/api/jobs/${job.id}`)).body.agentSessionId;
    const pid = workerPid(job.id)!;
    await killServer(first);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(pid), 10_000, 'the worker is gone');
    const second = await start(repo, first.home);
    await assertStillPending(second, job, approvalId, 'lost');
    // Held again across a second stop, this one graceful, before anyone answers.
    await cplDown(second);
    const third = await start(repo, first.home);
    const events = await answer(third, job, approvalId, { resolution: 'approved' });
    await assertApprovedRan(third, job, approvalId, events, marker, sessionBefore);
    assert.deepEqual(events.filter((e) => e.event === 'job_restarted').map((e) => [e.data['kind'], e.data['heldApprovals']]), [['lost', [approvalId]], ['graceful_stop', [approvalId]]]);
  });

  it('the server killed -9 (the worker keeps running): still answerable as today, the restart recorded, the command runs at once', async () => {
    const repo = makeRepo();
    const first = await start(repo);
    const marker = 'after-kill9.txt';
    const { job, approvalId } = await jobWaitingForApproval(first, repo, 'claude', marker);
    const pid = workerPid(job.id)!;
    await killServer(first);
    const second = await start(repo, first.home);
    assert.deepEqual(workerPids(job.id), [pid], 'the same worker, re-attached');
    const pending = await api<Approval[]>(second.url, 'GET', `/api/approvals?state=pending&jobId=${job.id}`);
    assert.deepEqual(pending.body.map((a) => a.id), [approvalId]);
    const restarted = (await jobEvents(second.url, job.id, (e) => e.event === 'job_restarted')).filter((e) => e.event === 'job_restarted');
    assert.deepEqual(restarted.map((e) => e.data['kind']), ['restart']);
    await answer(second, job, approvalId, { resolution: 'approved' });
    assert.ok(existsSync(join(job.worktreePath, marker)), 'the live agent ran the approved command');
  });

  it('cpl restart, then cpl down / up: each restart is in the job events with its kind, and the approval still works', async () => {
    const repo = makeRepo();
    const first = await start(repo);
    const marker = 'after-two-restarts.txt';
    const { job, approvalId } = await jobWaitingForApproval(first, repo, 'claude', marker);
    // cpl restart: the workers keep running and the server that replaces it re-attaches, on the same address.
    const restarted = await cpl(['restart'], { CODEPLANE_HOME: first.home, HOME: first.home }, { cwd: repo, ms: 90_000 });
    assert.equal(restarted.code, 0, restarted.out);
    await cplDown(first); // the first `cpl up` process, now its successor's launcher, exits with it
    const third = await start(repo, first.home);
    const events = await answer(third, job, approvalId, { resolution: 'approved' });
    const restarts = events.filter((e) => e.event === 'job_restarted');
    assert.deepEqual(restarts.map((e) => e.data['kind']), ['restart', 'graceful_stop']);
    assert.match(String(restarts[0]!.data['reason']), /cpl restart/);
    assert.ok(existsSync(join(job.worktreePath, marker)));
  });

  it('the worker killed while the server runs: the approval stays pending (a crash restart) and approving runs the command', async () => {
    const repo = makeRepo();
    const server = await start(repo);
    const marker = 'after-crash.txt';
    const { job, approvalId } = await jobWaitingForApproval(server, repo, 'claude', marker);
    const pid = workerPid(job.id)!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => workerPids(job.id).some((p) => p !== pid), 60_000, 'a new worker');
    const restarted = await jobEvents(server.url, job.id, (e) => e.event === 'job_restarted');
    assert.equal(restarted.find((e) => e.event === 'job_restarted')?.data['kind'], 'crash');
    const events = await answer(server, job, approvalId, { resolution: 'approved' });
    assert.ok(existsSync(join(job.worktreePath, marker)));
    assert.ok(events.some((e) => e.event === 'log_line' && /allowed without asking again/.test(String(e.data['message']))));
  });

  it('answered while no worker runs yet: the answer waits in the store and reaches the agent', async () => {
    const repo = makeRepo();
    const first = await start(repo);
    const marker = 'answered-early.txt';
    const { job, approvalId } = await jobWaitingForApproval(first, repo, 'claude', marker);
    await cplDown(first);
    const second = await start(repo, first.home);
    // Answer at once: the new worker may still be starting.
    const live = await SseClient.open(`${second.url}/api/events?jobId=${job.id}`);
    const res = await api(second.url, 'POST', `/api/approvals/${approvalId}/resolve`, { resolution: 'approved' });
    assert.equal(res.status, 200);
    await live.waitFor(settled(job.id), 60_000, 'review');
    live.close();
    assert.ok(existsSync(join(job.worktreePath, marker)));
    assert.equal(readdirSync(join(second.home, 'run')).includes('last-stop.json'), false, 'the stop record is used once');
    assert.ok(!readFileSync(join(second.home, 'logs', 'codeplane.log'), 'utf8').includes('"level":50'), 'no error logged');
  });
  it('a resumed agent that makes another call than the approved one is asked again: the grant covers that call only, and lapses', async () => {
    const repo = makeRepo();
    const first = await start(repo);
    const { job, approvalId } = await jobWaitingForApproval(first, repo, 'claude', 'approved-only.txt', ' [[swap touch swapped.txt]]');
    await cplDown(first);
    const second = await start(repo, first.home);
    const live = await SseClient.open(`${second.url}/api/events?jobId=${job.id}`);
    assert.equal((await api(second.url, 'POST', `/api/approvals/${approvalId}/resolve`, { resolution: 'approved' })).status, 200);
    const again = await live.waitFor((e) => e.event === 'approval_requested' && (e.data['approval'] as { id: string }).id !== approvalId, 60_000, 'a second approval');
    const second2 = again.data['approval'] as { id: string; summary: string };
    assert.match(second2.summary, /touch swapped\.txt/, 'the other call is asked about');
    assert.equal(existsSync(join(job.worktreePath, 'swapped.txt')), false, 'and did not run');
    assert.equal((await api(second.url, 'POST', `/api/approvals/${second2.id}/resolve`, { resolution: 'rejected', note: 'not that' })).status, 200);
    await live.waitFor(settled(job.id), 60_000, 'review');
    live.close();
    assert.equal(existsSync(join(job.worktreePath, 'swapped.txt')), false, 'the unapproved call never ran');
    assert.equal(existsSync(join(job.worktreePath, 'approved-only.txt')), false, 'the agent never made the approved call');
    const events = await jobEvents(second.url, job.id, settled(job.id));
    assert.ok(events.some((e) => e.event === 'log_line' && /not repeated by the agent; the approval lapsed/.test(String(e.data['message']))), 'the unused grant lapsed at the end of the turn');
    assert.ok(!events.some((e) => e.event === 'log_line' && /allowed without asking again/.test(String(e.data['message']))));
  });
  it('a worker that keeps dying while the approval waits: held across each restart, then the spent restart budget fails the job and withdraws it', async () => {
    const repo = makeRepo();
    const server = await start(repo);
    const { job, approvalId } = await jobWaitingForApproval(server, repo, 'claude', 'never-after-budget.txt');
    const sse = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`);
    const killed: number[] = [];
    for (let death = 1; death <= 4; death++) {
      await waitFor(() => workerPids(job.id).some((p) => !killed.includes(p)), 60_000, `worker ${death}`);
      const pid = workerPids(job.id).find((p) => !killed.includes(p))!;
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    }
    const failed = await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['to'] === 'failed', 60_000, 'failed');
    assert.match(String(failed.data['reason']), /restart budget/);
    const withdrawn = await sse.waitFor((e) => e.event === 'approval_resolved' && e.data['approvalId'] === approvalId, 30_000, 'withdrawn');
    sse.close();
    assert.equal(withdrawn.data['resolution'], 'rejected');
    assert.match(String(withdrawn.data['note']), /withdrawn/);
    const pending = await api<Approval[]>(server.url, 'GET', `/api/approvals?state=pending&jobId=${job.id}`);
    assert.deepEqual(pending.body, [], 'nothing left pending on a failed job');
    const late = await api<{ error: { code: string } }>(server.url, 'POST', `/api/approvals/${approvalId}/resolve`, { resolution: 'approved' });
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'APPROVAL_ALREADY_RESOLVED');
    assert.equal(existsSync(join(job.worktreePath, 'never-after-budget.txt')), false);
  });
});
