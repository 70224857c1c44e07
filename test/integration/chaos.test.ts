import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Job, JobPage } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { workerPid } from '../helpers/processes.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const SETTLED = new Set(['review', 'failed', 'completed', 'canceled']);
const PROMPTS = ['[[slow 40]]', 'say hello', '[[write f.txt chaos]]', '[[bash echo hi]]', '[[slow 20]]'];

/** Deterministic randomness, so a failure can be replayed with the same seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

describe('chaos: 20 concurrent jobs under random worker and supervisor kills', () => {
  let server: ServerProcess | undefined;
  const home = mkdtempSync(join(tmpdir(), 'cpl-chaos-'));
  after(async () => {
    await server?.stop();
    try {
      execFileSync('pkill', ['-9', '-f', '--', `--home ${home}`]); // any worker still around
    } catch {
      /* none left */
    }
  });

  it('every job settles in a legitimate state, with a gapless event log and a sound database', async () => {
    const seed = Number(process.env['CHAOS_SEED'] ?? Date.now() % 100_000);
    const random = rng(seed);
    writeFileSync(join(home, 'config.json'), JSON.stringify({ maxConcurrentJobs: 6, maxJobsPerRepo: 6 }));
    const repo = makeRepo();
    server = await startServerProcess({ cwd: repo, home });
    const jobs: Job[] = [];
    for (let i = 0; i < 20; i++) {
      const prompt = PROMPTS[i % PROMPTS.length]!.replace('f.txt', `f${i}.txt`);
      const created: { status: number; body: Job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt, agent: 'claude', permissionMode: 'full_auto' });
      assert.equal(created.status, 201);
      jobs.push(created.body);
    }

    let supervisorKills = 0;
    let workerKills = 0;
    const chaosUntil = Date.now() + 12_000;
    while (Date.now() < chaosUntil) {
      await new Promise((r) => setTimeout(r, 400 + random() * 600));
      if (random() < 0.2 && supervisorKills < 2) {
        supervisorKills++;
        const gone = new Promise((r) => server!.child.once('exit', r));
        server.child.kill('SIGKILL');
        await gone;
        server = await startServerProcess({ cwd: repo, home });
        continue;
      }
      const victim = jobs[Math.floor(random() * jobs.length)]!;
      const pid = workerPid(victim.id);
      if (pid) {
        workerKills++;
        process.kill(pid, 'SIGKILL');
      }
    }

    const deadline = Date.now() + 180_000;
    let states: string[] = [];
    for (;;) {
      const page = await api<JobPage>(server.url, 'GET', '/api/jobs?limit=50');
      states = page.body.items.map((j) => j.state);
      if (states.length === 20 && states.every((s) => SETTLED.has(s))) break;
      assert.ok(Date.now() < deadline, `seed ${seed}: jobs did not settle: ${states.join(',')}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const final = (await api<JobPage>(server.url, 'GET', '/api/jobs?limit=50')).body.items;
    for (const j of final) if (j.state === 'failed') assert.ok(j.failureReason, `seed ${seed}: job ${j.id} failed without a reason`);
    await server.stop();
    server = undefined;

    const db = new Database(join(home, 'codeplane.db'), { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      for (const j of jobs) {
        const seqs = db.prepare('SELECT seq FROM events WHERE job_id = ? ORDER BY seq').pluck().all(j.id) as number[];
        assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), `seed ${seed}: job ${j.id} has a gap`);
        const ids = db.prepare('SELECT id FROM events WHERE job_id = ? ORDER BY seq').pluck().all(j.id) as number[];
        assert.deepEqual(ids, [...ids].sort((a, b) => a - b), `seed ${seed}: ids follow seqs`);
      }
    } finally {
      db.close();
    }
    const reasons = final.filter((j) => j.state === 'failed').map((j) => j.failureReason);
    process.stdout.write(`# chaos seed ${seed}: ${workerKills} worker kills, ${supervisorKills} supervisor kills; final states ${states.sort().join(',')}${reasons.length ? `; failures: ${reasons.join(' / ')}` : ''}\n`);
  });
});
