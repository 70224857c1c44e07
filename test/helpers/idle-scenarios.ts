/**
 * Jobs idle in review give back their worker and agent CLI (config
 * idleWorkerSeconds; the 'idle-park' server sets CODEPLANE_IDLE_WORKER_MS),
 * and the next message resumes the same agent session in a new one. A job
 * waiting for an approval is never stopped: its agent is mid-turn.
 */
import assert from 'node:assert/strict';
import { texts, type Scenario } from './agent-scenarios.ts';
import { alive, waitFor, workerPid } from './processes.ts';

/** How long a job of the 'idle-park' server may idle in review before its worker stops. */
export const IDLE_PARK_MS = 1500;

const PARKED = /idle in review: its worker and agent CLI were stopped/;

export const IDLE_SCENARIOS: Scenario[] = [
  {
    name: 'idle in review: the worker and its CLI stop, and the next message resumes the same session in a new CLI',
    server: 'idle-park',
    async run(h, a) {
      const job = await h.createJob(a.id, 'remember me');
      await h.reached(job.id, 'review');
      const worker = workerPid(job.id);
      const [cli] = await h.cliPids(job.id, a.cli);
      assert.ok(worker && cli, 'the job ran in a worker and a CLI');
      const { agentSessionId } = await h.job(job.id);
      assert.ok(agentSessionId);
      await h.waitEvent(job.id, 'log_line', (d) => PARKED.test(String(d['message'])));
      await waitFor(() => !alive(worker) && !alive(cli), 20_000, 'the idle worker and its CLI to exit');
      assert.equal((await h.job(job.id)).state, 'review', 'the job stays in review');

      await h.post(`/api/jobs/${job.id}/messages`, { content: 'second' });
      await h.reached(job.id, 'review', 2);
      assert.ok(texts(h, job, 'agent').includes('echo: second'), JSON.stringify(texts(h, job, 'agent')));
      assert.deepEqual(texts(h, job, 'operator').filter((t) => t === 'second'), ['second'], 'the message was delivered once');
      assert.equal((await h.job(job.id)).agentSessionId, agentSessionId, 'the same agent session continued');
      assert.equal((await h.cliPids(job.id, a.cli)).length, 2, 'a new CLI process resumed it');
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'idle in review: a message sent while the worker is stopping is not lost',
    server: 'idle-park',
    async run(h, a) {
      const job = await h.createJob(a.id, 'first');
      await h.reached(job.id, 'review');
      const [cli] = await h.cliPids(job.id, a.cli);
      assert.ok(cli);
      // The CLI is the first to go when the worker stops: send at that moment, while the worker
      // is still shutting down (or, on a slow machine, just after it is gone).
      const deadline = Date.now() + 20_000;
      while (alive(cli) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.ok(!alive(cli), 'the idle job\'s CLI stopped');
      await h.post(`/api/jobs/${job.id}/messages`, { content: 'during the stop' });
      await h.reached(job.id, 'review', 2);
      assert.ok(texts(h, job, 'agent').includes('echo: during the stop'), JSON.stringify(texts(h, job, 'agent')));
      await h.finish(job.id, a.cli);
    },
  },
  {
    name: 'idle while waiting for an approval: the worker and its CLI keep running, and the answer arrives',
    server: 'idle-park',
    async run(h, a) {
      const job = await h.createJob(a.id, '[[bash touch approved.txt]]', { permissionMode: 'review_and_approve' });
      const approval = await h.approval(job.id);
      await h.reached(job.id, 'waiting_for_approval');
      const worker = workerPid(job.id);
      const [cli] = await h.cliPids(job.id, a.cli);
      assert.ok(worker && cli);
      // The positive marker that the parker looked while this job idled: a job that reached review
      // after it (so its worker was busy more recently) is parked.
      const bystander = await h.createJob(a.id, 'bystander');
      await h.reached(bystander.id, 'review');
      await h.waitEvent(bystander.id, 'log_line', (d) => PARKED.test(String(d['message'])));
      assert.ok(alive(worker) && alive(cli), 'a job waiting for an answer keeps its agent');
      await h.resolve(approval.id, 'approved');
      assert.equal(await h.settles(job.id, ['review', 'failed']), 'review');
      assert.equal((await h.cliPids(job.id, a.cli)).length, 1, 'the same CLI finished the turn');
      await h.finish(job.id, a.cli);
      await h.finish(bystander.id, a.cli);
    },
  },
];
