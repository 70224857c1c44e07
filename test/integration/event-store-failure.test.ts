/**
 * When the database refuses a worker's events (a full disk, a broken file),
 * nothing is lost and nothing is stored out of order: the batch is not
 * acknowledged, the job's later events wait instead of leaving a gap, the
 * worker is asked to re-send, and once writes work again the job's log is
 * complete and contiguous.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

describe('events the database refuses', () => {
  it('are re-sent by the worker once writes work again: no gap, no loss, in order', async () => {
    const repo = makeRepo('cpl-storefail-');
    const server = await startServerProcess({ cwd: repo });
    servers.push(server);
    // Another connection makes the server's inserts of one delta fail while `poison` has a row.
    const db = new Database(join(server.home, 'codeplane.db'));
    db.exec(`CREATE TABLE poison (x INTEGER);
      INSERT INTO poison VALUES (1);
      CREATE TRIGGER refuse BEFORE INSERT ON events
        WHEN NEW.type = 'transcript_update' AND NEW.payload LIKE '%POISON%' AND EXISTS (SELECT 1 FROM poison)
        BEGIN SELECT RAISE(ABORT, 'disk trouble'); END;`);
    try {
      const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'say POISON please', agent: 'claude', permissionMode: 'full_auto' });
      const stateOf = async () => (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.state;
      const deadline = Date.now() + 30_000;
      const refusals = () => {
        try {
          return readFileSync(join(server.home, 'logs', 'codeplane.log'), 'utf8').match(/could not store a worker's events/g)?.length ?? 0;
        } catch {
          return 0;
        }
      };
      // Several re-sends, all refused (each refusal is logged): the positive marker that time has passed
      // in which a wrongly acknowledged or skipped batch would have let the turn's end through.
      while (refusals() < 3) {
        assert.ok(Date.now() < deadline, `the refusals were logged (${refusals()} so far)`);
        await sleep(100);
      }
      const stored0 = db.prepare('SELECT seq, type, substr(payload,1,80) p FROM events WHERE job_id = ? ORDER BY seq').all(job.id);
      assert.equal(await stateOf(), 'running', `the turn end after the refused delta waits: it would leave a gap ${JSON.stringify(stored0)}`);
      const stored = db.prepare('SELECT seq FROM events WHERE job_id = ? ORDER BY seq').pluck().all(job.id) as number[];
      assert.deepEqual(stored, stored.map((_, i) => i + 1), 'what is stored has no gap');

      db.exec('DELETE FROM poison'); // writes work again
      while ((await stateOf()) !== 'review') {
        assert.ok(Date.now() < deadline + 30_000, 'the job reached review after the re-send');
        await sleep(100);
      }
      const replay = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`, 0);
      await replay.waitFor((e) => e.event === 'job_state_changed' && e.data['to'] === 'review', 10_000, 'replay to review');
      replay.close();
      const seqs = replay.events.map((e) => Number(e.data['seq']));
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'contiguous seqs, in id order');
      const text = replay.events
        .filter((e) => e.event === 'transcript_update' && (e.data['entry'] as { role: string }).role === 'agent_delta')
        .map((e) => (e.data['entry'] as { text: string }).text)
        .join('');
      assert.match(text, /echo: say POISON please/, 'the refused delta is there, in its place');
    } finally {
      db.close();
    }
  });
});
