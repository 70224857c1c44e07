/**
 * An approval pending when the server stops gracefully (cpl down) stays pending and answerable
 * after cpl up; the answer reaches the same agent session, and an approved call really runs (the
 * agent repeats it and it is not asked about again); a rejection's note reaches the agent and the
 * call never runs. With the fake claude and the fake copilot; the real bundled claude in
 * approval-across-restart-real-claude.test.ts, the other kinds of stop in approval-across-other-stops.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Approval, Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { waitFor, workerPids } from '../helpers/processes.ts';
import { api } from '../helpers/server-process.ts';
import { agentTexts, answer, assertApprovedRan, assertStillPending, cplDown, jobWaitingForApproval, servers, start } from '../helpers/approval-restart.ts';

after(async () => {
  for (const s of servers) await s.stop();
});

for (const agent of ['claude', 'copilot'] as const) {
  describe(`an approval pending across a graceful stop (${agent})`, () => {
    it('stays pending after cpl down / cpl up; approved, the resumed agent really runs the command without asking again', async () => {
      const repo = makeRepo();
      const first = await start(repo);
      const marker = `approved-${agent}.txt`;
      const { job, approvalId } = await jobWaitingForApproval(first, repo, agent, marker);
      const sessionBefore = (await api<Job>(first.url, 'GET', `/api/jobs/${job.id}`)).body.agentSessionId;
      assert.ok(sessionBefore, 'the agent session is known before the stop');
      await cplDown(first);
      await waitFor(() => workerPids(job.id).length === 0, 30_000, 'the worker checkpointed and exited');
      assert.equal(existsSync(join(job.worktreePath, marker)), false, 'nothing ran before the answer');

      const second = await start(repo, first.home);
      await assertStillPending(second, job, approvalId, 'graceful_stop');
      const events = await answer(second, job, approvalId, { resolution: 'approved' });
      await assertApprovedRan(second, job, approvalId, events, marker, sessionBefore);
      const told = events.filter((e) => e.event === 'transcript_update' && (e.data['entry'] as { role: string }).role === 'operator');
      assert.equal(told.length, 0, 'the decision goes to the agent, not as a user message in the transcript');
    });

    it('rejected after the restart: the note reaches the agent and the command never runs', async () => {
      const repo = makeRepo();
      const first = await start(repo);
      const marker = `rejected-${agent}.txt`;
      const { job, approvalId } = await jobWaitingForApproval(first, repo, agent, marker);
      await cplDown(first);
      const second = await start(repo, first.home);
      await assertStillPending(second, job, approvalId, 'graceful_stop');
      const events = await answer(second, job, approvalId, { resolution: 'rejected', note: 'use the build script instead' });
      assert.ok(agentTexts(events).some((t) => t.includes('REJECTED') && t.includes('use the build script instead')), `the note reached the agent: ${JSON.stringify(agentTexts(events))}`);
      assert.equal(existsSync(join(job.worktreePath, marker)), false, 'the rejected command never ran');
      const approvals = await api<Approval[]>(second.url, 'GET', `/api/approvals?jobId=${job.id}`);
      assert.deepEqual(approvals.body.map((a) => [a.resolution, a.note]), [['rejected', 'use the build script instead']]);
    });
  });
}


describe('an approval of a command with a secret in it, across a graceful stop (claude)', () => {
  it('is shown redacted, held as stored, and approving it runs the real command once', async () => {
    const repo = makeRepo();
    const first = await start(repo);
    const token = `ghp_${'Qw7'.repeat(12)}`; // a GitHub token's shape: redacted in everything the server stores
    const marker = `${token}.txt`;
    const { job, approvalId } = await jobWaitingForApproval(first, repo, 'claude', marker);
    const shown = (await api<Approval[]>(first.url, 'GET', `/api/approvals?jobId=${job.id}`)).body[0]!;
    assert.equal(shown.summary, 'touch [REDACTED:github-token].txt');
    const sessionBefore = (await api<Job>(first.url, 'GET', `/api/jobs/${job.id}`)).body.agentSessionId;
    await cplDown(first);
    const second = await start(repo, first.home);
    await assertStillPending(second, job, approvalId, 'graceful_stop');
    const events = await answer(second, job, approvalId, { resolution: 'approved' });
    // The agent repeats the real command; it is matched with its grant as the user saw it (redacted) and runs once.
    await assertApprovedRan(second, job, approvalId, events, marker, sessionBefore);
    // (job_created carries the user's own prompt as its title: what the user typed, not what the agent did.)
    assert.deepEqual(events.filter((e) => e.event !== 'job_created' && JSON.stringify(e).includes(token)).map((e) => e.data), [], 'the token is in no event of the agent');
  });
});
