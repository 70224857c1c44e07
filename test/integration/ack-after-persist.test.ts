/**
 * A worker forgets an event only once the supervisor has stored it: the supervisor acknowledges a
 * batch after its transaction commits, never before. Proven the hard way: the database refuses a
 * batch, the supervisor is killed -9 right then, and the next supervisor still gets that batch
 * from the worker (which kept it, unacknowledged) once writes work again.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { alive, waitFor, workerPid } from '../helpers/processes.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

const refusalLogged = (home: string) => () => {
  try {
    return /could not store a worker's events/.test(readFileSync(join(home, 'logs', 'codeplane.log'), 'utf8'));
  } catch {
    return false;
  }
};

describe('acknowledgement after persistence', () => {
  it('a batch the database refused is still held by the worker when the supervisor dies, and reaches the next one', async () => {
    const repo = makeRepo('cpl-ack-');
    const first = await startServerProcess({ cwd: repo });
    servers.push(first);
    const db = new Database(join(first.home, 'codeplane.db'));
    // Another connection makes the server's insert of one delta fail while `poison` has a row.
    db.exec(`CREATE TABLE poison (x INTEGER);
      INSERT INTO poison VALUES (1);
      CREATE TRIGGER refuse BEFORE INSERT ON events
        WHEN NEW.type = 'transcript_update' AND NEW.payload LIKE '%POISON%' AND EXISTS (SELECT 1 FROM poison)
        BEGIN SELECT RAISE(ABORT, 'disk trouble'); END;`);
    try {
      const { body: job } = await api<Job>(first.url, 'POST', '/api/jobs', { repo, prompt: 'say POISON please', agent: 'claude', permissionMode: 'full_auto' });
      await waitFor(refusalLogged(first.home), 60_000, 'the refused batch');
      const pid = workerPid(job.id)!;
      const gone = new Promise((r) => first.child.once('exit', r));
      first.child.kill('SIGKILL');
      await gone;
      assert.ok(alive(pid), 'the worker outlives the supervisor');
      const poisoned = db.prepare(`SELECT count(*) FROM events WHERE job_id = ? AND type = 'transcript_update' AND payload LIKE '%POISON%'`).pluck().get(job.id);
      assert.equal(poisoned, 0, 'the refused delta was not stored');
      db.exec('DELETE FROM poison'); // writes work again

      const second = await startServerProcess({ cwd: repo, home: first.home });
      servers.push(second);
      const replay = await SseClient.open(`${second.url}/api/events?jobId=${job.id}`, 0);
      await replay.waitFor((e) => e.event === 'job_state_changed' && e.data['to'] === 'review', 60_000, 'review');
      replay.close();
      const seqs = replay.events.map((e) => Number(e.data['seq']));
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'contiguous seqs: nothing acknowledged was lost');
      const text = replay.events
        .filter((e) => e.event === 'transcript_update' && (e.data['entry'] as { role: string }).role === 'agent_delta')
        .map((e) => (e.data['entry'] as { text: string }).text)
        .join('');
      assert.match(text, /echo: say POISON please/, 'the refused delta arrived from the worker, in its place');
    } finally {
      db.close();
    }
  });
});
