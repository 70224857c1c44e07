import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { alive, waitFor, workerPid, workerPids } from '../helpers/processes.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient, type SseEvent } from '../helpers/sse-client.ts';
import { cpl } from '../helpers/cpl.ts';

const servers: ServerProcess[] = [];
const start = async (cwd: string, home?: string) => {
  const s = await startServerProcess({ cwd, ...(home ? { home } : {}) });
  servers.push(s);
  return s;
};
after(async () => {
  for (const s of servers) await s.stop();
});

const stateIs = (jobId: string, to: string) => (e: SseEvent) => e.event === 'job_state_changed' && e.data['jobId'] === jobId && e.data['to'] === to;
const killServer = async (s: ServerProcess) => {
  const gone = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGKILL');
  await gone;
};

/** Per-job events, read back from a fresh full replay: no gap, no duplicate. */
async function assertCompleteLog(url: string, jobId: string, until: (e: SseEvent) => boolean): Promise<SseEvent[]> {
  const all = await SseClient.open(`${url}/api/events?jobId=${jobId}`, 0);
  await all.waitFor(until, 30_000, 'end of log');
  all.close();
  const seqs = all.events.map((e) => Number(e.data['seq']));
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'per-job seqs are contiguous');
  return all.events;
}

describe('a job worker dies', () => {
  it('is restarted from its snapshot mid-stream, resumes the agent session, and the job reaches review', async () => {
    const repo = makeRepo();
    const server = await start(repo);
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 80]]', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor((e) => e.event === 'transcript_update' && e.data['jobId'] === job.id && (e.data['entry'] as { role: string }).role === 'agent_delta', 30_000);
    const sessionId = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.agentSessionId;
    const pid = workerPid(job.id);
    assert.ok(pid, 'worker found');
    process.kill(pid, 'SIGKILL');
    const note = await sse.waitFor(
      (e) => e.event === 'transcript_update' && e.data['jobId'] === job.id && (e.data['entry'] as { role: string }).role === 'system',
      30_000,
      'recovery note',
    );
    assert.match(String((note.data['entry'] as { text: string }).text), /killed \(SIGKILL\).*restarted it \(restart 1\).*resumed the agent session/);
    await sse.waitFor(stateIs(job.id, 'review'), 30_000, 'review');
    sse.close();
    const after = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
    assert.equal(after.agentSessionId, sessionId, 'the same agent session was resumed');
    assert.notEqual(workerPid(job.id), pid);
    await assertCompleteLog(server.url, job.id, stateIs(job.id, 'review'));
  });

  it('while an approval is pending: the approval stays pending across the restart, and approving it lets the resumed agent write', async () => {
    const repo = makeRepo();
    const server = await start(repo);
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[write a.txt A]]', agent: 'claude' });
    const req = await sse.waitFor((e) => e.event === 'approval_requested' && e.data['jobId'] === job.id, 30_000);
    const approvalId = (req.data['approval'] as { id: string }).id;
    await sse.waitFor(stateIs(job.id, 'waiting_for_approval'), 30_000, 'waiting');
    process.kill(workerPid(job.id)!, 'SIGKILL');
    const restarted = await sse.waitFor((e) => e.event === 'job_restarted' && e.data['jobId'] === job.id, 30_000, 'restart');
    assert.equal(restarted.data['kind'], 'crash');
    assert.deepEqual(restarted.data['heldApprovals'], [approvalId]);
    assert.ok(!sse.events.some((e) => e.event === 'approval_resolved'), 'not withdrawn');
    const answer = await api(server.url, 'POST', `/api/approvals/${approvalId}/resolve`, { resolution: 'approved' });
    assert.equal(answer.status, 200, 'the approval is still answerable');
    await sse.waitFor(stateIs(job.id, 'review'), 30_000, 'review');
    sse.close();
    assert.equal(readFileSync(join(job.worktreePath, 'a.txt'), 'utf8'), 'A');
  });
});

describe('the supervisor is killed -9', () => {
  it('workers keep running; a new supervisor re-attaches and a reconnecting client misses nothing', async () => {
    const repo = makeRepo();
    const first = await start(repo);
    const sse = await SseClient.open(`${first.url}/api/events`);
    const { body: job } = await api<Job>(first.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 60]]', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor((e) => e.event === 'transcript_update' && e.data['jobId'] === job.id, 30_000);
    const pid = workerPid(job.id)!;
    await killServer(first);
    sse.close();
    assert.ok(alive(pid), 'the worker outlives the supervisor');

    const second = await start(repo, first.home);
    const resumed = await SseClient.open(`${second.url}/api/events`, sse.lastId);
    await resumed.waitFor(stateIs(job.id, 'review'), 30_000, 'review after re-attach');
    resumed.close();
    assert.deepEqual(workerPids(job.id), [pid], 'exactly one worker: the same one, re-attached, and no new one spawned');
    // The server's restart is recorded (kind `restart`), but the worker was never restarted.
    assert.deepEqual(resumed.events.filter((e) => e.event === 'job_restarted').map((e) => e.data['kind']), ['restart']);
    // The agent kept streaming into the worker's outbox while no supervisor was there: the new one got it re-sent.
    const resent = readFileSync(join(second.home, 'logs', 'codeplane.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('re-sent its unacknowledged events'))
      .map((l) => (JSON.parse(l) as { resent: number }).resent);
    assert.ok(resent.length === 1 && resent[0]! > 0, `the re-attached worker re-sent what it held: ${JSON.stringify(resent)}`);
    const ids = [...sse.events, ...resumed.events].map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicate across the reconnect');
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    const log = await assertCompleteLog(second.url, job.id, stateIs(job.id, 'review'));
    const seen = new Set(ids);
    assert.ok(log.every((e) => seen.has(e.id)), 'the reconnecting client received every event of the job');
  });

  it('while an approval is pending: the approval is answerable on the new supervisor and the job completes', async () => {
    const repo = makeRepo();
    const first = await start(repo);
    const sse = await SseClient.open(`${first.url}/api/events`);
    const { body: job } = await api<Job>(first.url, 'POST', '/api/jobs', { repo, prompt: '[[write kept.txt survived]]', agent: 'claude' });
    const req = await sse.waitFor((e) => e.event === 'approval_requested' && e.data['jobId'] === job.id, 30_000);
    sse.close();
    await killServer(first);
    const second = await start(repo, first.home);
    const pending = await api<{ id: string }[]>(second.url, 'GET', `/api/approvals?state=pending&jobId=${job.id}`);
    assert.deepEqual(pending.body.map((a) => a.id), [(req.data['approval'] as { id: string }).id]);
    const live = await SseClient.open(`${second.url}/api/events?jobId=${job.id}`);
    const answer = await api(second.url, 'POST', `/api/approvals/${pending.body[0]!.id}/resolve`, { resolution: 'approved' });
    assert.equal(answer.status, 200);
    await live.waitFor(stateIs(job.id, 'review'), 30_000, 'review');
    live.close();
    assert.equal(readFileSync(join(job.worktreePath, 'kept.txt'), 'utf8'), 'survived');
    await assertCompleteLog(second.url, job.id, stateIs(job.id, 'review'));
  });

  it('then its worker too, before the new supervisor starts: the job is restarted and recovers', async () => {
    const repo = makeRepo();
    const first = await start(repo);
    const sse = await SseClient.open(`${first.url}/api/events`);
    const { body: job } = await api<Job>(first.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 400]]', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor((e) => e.event === 'transcript_update' && e.data['jobId'] === job.id && (e.data['entry'] as { role: string }).role === 'agent_delta', 30_000);
    sse.close();
    const pid = workerPid(job.id)!;
    await killServer(first);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(pid), 5000, 'worker death');
    const second = await start(repo, first.home);
    const live = await SseClient.open(`${second.url}/api/events?jobId=${job.id}`, 0);
    const note = await live.waitFor((e) => e.event === 'transcript_update' && (e.data['entry'] as { role: string }).role === 'system', 30_000, 'note');
    assert.match(String((note.data['entry'] as { text: string }).text), /CodePlane found the job worker gone at start/);
    const restarted = await live.waitFor((e) => e.event === 'job_restarted', 30_000, 'restart event');
    assert.equal(restarted.data['kind'], 'lost', 'no graceful stop was recorded: the worker was lost');
    await live.waitFor(stateIs(job.id, 'review'), 30_000, 'review');
    live.close();
    assert.equal(existsSync(join(second.home, 'run', `${job.id}.sock`)), true, 'a new worker listens');
  });
});

describe('graceful stop and restart', () => {
  it('SIGTERM checkpoints running jobs; the next start resumes them and says so', async () => {
    const repo = makeRepo();
    const first = await start(repo);
    const sse = await SseClient.open(`${first.url}/api/events`);
    const { body: job } = await api<Job>(first.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 400]]', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor((e) => e.event === 'transcript_update' && e.data['jobId'] === job.id && (e.data['entry'] as { role: string }).role === 'agent_delta', 30_000);
    sse.close();
    const pid = workerPid(job.id)!;
    const code = await first.stop();
    assert.equal(code, 0);
    await waitFor(() => !alive(pid), 10_000, 'the worker checkpointed and exited');
    assert.equal((await import('node:fs')).existsSync(join(first.home, 'run', `${job.id}.sock`)), false);

    const second = await start(repo, first.home);
    const live = await SseClient.open(`${second.url}/api/events?jobId=${job.id}`, 0);
    await live.waitFor((e) => e.event === 'transcript_update' && /CodePlane was stopped while the job ran/.test(String((e.data['entry'] as { text?: string }).text)), 30_000, 'resume note');
    const restarted = await live.waitFor((e) => e.event === 'job_restarted', 30_000, 'restart event');
    assert.equal(restarted.data['kind'], 'graceful_stop');
    await live.waitFor(stateIs(job.id, 'review'), 30_000, 'review');
    live.close();
    const states = live.events.filter((e) => e.event === 'job_state_changed').map((e) => e.data['to']);
    assert.ok(!states.includes('canceled') && !states.includes('failed'), `never canceled or failed: ${states.join(',')}`);
  });
});

describe('cpl restart', () => {
  it('restarts the server while the job worker keeps running and is re-attached', async () => {
    const repo = makeRepo();
    const first = await start(repo);
    const sse = await SseClient.open(`${first.url}/api/events`);
    const { body: job } = await api<Job>(first.url, 'POST', '/api/jobs', { repo, prompt: '[[slow 80]]', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor((e) => e.event === 'transcript_update' && e.data['jobId'] === job.id, 30_000);
    sse.close();
    const pid = workerPid(job.id)!;
    const restarted = await cpl(['restart'], { CODEPLANE_HOME: first.home, HOME: first.home }, { cwd: repo, ms: 90_000 });
    assert.equal(restarted.code, 0, restarted.out);
    const url = /listening on (http:\/\/\S+)/.exec(restarted.out)?.[1];
    assert.equal(url, first.url, `same address: ${restarted.out}`);
    assert.equal(workerPid(job.id), pid, 'the worker kept running');
    {
      const live = await SseClient.open(`${url}/api/events?jobId=${job.id}`, 0);
      await live.waitFor(stateIs(job.id, 'review'), 30_000, 'review');
      live.close();
      const seqs = live.events.map((e) => Number(e.data['seq']));
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1));
    }
  });
});
