/**
 * The terminal service in-process, with a real pty and a real database:
 * which jobs get a shell, flow control (a backed-up reader pauses the shell,
 * so output never piles up), the bounded replay, and the ways a shell ends.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { TerminalAttachment, TerminalEnd } from '../../api/ports.ts';
import { insertJob, updateJob } from '../../supervisor/db/jobs-repo.ts';
import { EventHub } from '../../supervisor/events/event-hub.ts';
import { TerminalService } from '../../supervisor/terminal/terminal-service.ts';
import { alive, waitFor } from '../helpers/processes.ts';
import { addRepo, tempDb } from '../helpers/storage-db.ts';

class Sink {
  out = '';
  ended?: { reason: TerminalEnd; message: string };
  output(data: string): void {
    this.out += data;
  }
  end(reason: TerminalEnd, message: string): void {
    assert.equal(this.ended, undefined, 'end is called once');
    this.ended = { reason, message };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('terminal service', { timeout: 120_000 }, () => {
  const store = tempDb();
  const hub = new EventHub();
  let terminals: TerminalService;
  let worktree: string;
  let eventId = 0;

  const job = (id: string, state: 'queued' | 'review' | 'failed', path = worktree) =>
    insertJob(store.db, { id, repoId: 'r1', title: id, prompt: 'p', agent: 'claude', model: null, permissionMode: 'full_auto', baseRef: 'main', branch: `cp/${id}`, worktreePath: path, createdAt: new Date().toISOString(), state });
  const typed = (a: TerminalAttachment, line: string) => a.input(Buffer.from(`${line}\r`));

  before(() => {
    addRepo(store.db);
    worktree = mkdtempSync(join(tmpdir(), 'cpl-term-wt-'));
    terminals = new TerminalService({ db: store.db, hub, log: pino({ level: 'silent' }), scrollbackChars: 64 * 1024, killGraceMs: 500 });
    job('jreview', 'review');
    job('jfailed', 'failed');
    job('jqueued', 'queued');
    job('jgone', 'review', join(worktree, 'no-such-dir'));
    job('jresolved', 'review');
    updateJob(store.db, 'jresolved', { updatedAt: new Date().toISOString(), state: 'completed', resolution: 'merged' });
  });
  after(async () => {
    await terminals.close();
    store.cleanup();
  });

  it('gives a shell only to a job with a worktree', () => {
    assert.doesNotThrow(() => terminals.check('jreview'));
    assert.doesNotThrow(() => terminals.check('jfailed'), 'a failed job keeps its worktree (it can be resumed)');
    assert.throws(() => terminals.check('nope'), { code: 'JOB_NOT_FOUND' });
    for (const id of ['jqueued', 'jgone', 'jresolved']) assert.throws(() => terminals.attach(id, new Sink()), { code: 'NO_WORKTREE' }, id);
    assert.equal(terminals.size, 0, 'no shell was started for a refused job');
  });

  it('pauses the shell while a reader is backed up, then delivers everything; the replay stays bounded', async () => {
    const sink = new Sink();
    const a = terminals.attach('jreview', sink, { cols: 100, rows: 30 });
    a.backedUp(true);
    // 4 MB of output: far more than the pty's kernel buffer, so the writer must block.
    typed(a, `head -c 4000000 /dev/zero | tr '\\0' 'x'; echo; echo "fin""ished-$((40+2))"`);
    await sleep(1500);
    const whilePaused = sink.out.length;
    assert.ok(whilePaused < 1_000_000, `${whilePaused} chars arrived while paused`);
    assert.doesNotMatch(sink.out, /finished-42/);
    a.backedUp(false);
    await waitFor(() => /finished-42/.test(sink.out), 30_000, 'the rest of the output');
    assert.ok(sink.out.length > 4_000_000);
    const late = new Sink();
    const b = terminals.attach('jreview', late);
    assert.ok(late.out.length <= 64 * 1024, `a replay of ${late.out.length} chars`);
    assert.match(late.out, /finished-42/);
    a.detach();
    b.detach();
    a.detach(); // idempotent
    assert.equal(terminals.size, 1, 'the shell outlives its attachments');
  });

  it('ends the shell when its job is resolved, and refuses a new one', async () => {
    const sink = new Sink();
    const a = terminals.attach('jfailed', sink);
    typed(a, 'echo "p""id=$$"');
    await waitFor(() => /pid=\d+/.test(sink.out), 10_000, 'the pid');
    const pid = Number(/pid=(\d+)/.exec(sink.out)![1]);
    updateJob(store.db, 'jfailed', { updatedAt: new Date().toISOString(), state: 'completed', resolution: 'discarded' });
    hub.publish([{ id: ++eventId, jobId: 'jfailed', seq: 99, ts: new Date().toISOString(), event: { type: 'job_resolved', resolution: 'discarded' } }]);
    assert.deepEqual(sink.ended, { reason: 'job_resolved', message: 'the job was discarded; its terminal is closed' });
    await waitFor(() => !alive(pid), 5000, 'the shell to exit');
    a.input('echo ignored\r'); // after the end: ignored, not thrown
    assert.throws(() => terminals.attach('jfailed', new Sink()), { code: 'NO_WORKTREE' });
  });

  it('ends every shell on close, and refuses to start more', async () => {
    const sink = new Sink();
    terminals.attach('jreview', sink);
    await terminals.close();
    assert.equal(sink.ended?.reason, 'server_stopping');
    assert.equal(terminals.size, 0);
    assert.throws(() => terminals.attach('jreview', new Sink()), { code: 'SERVER_STOPPING' });
  });
});
