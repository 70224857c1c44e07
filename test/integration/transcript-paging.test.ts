/**
 * Transcript and log pages are read from the event log, newest first, paged
 * by seq; streaming deltas are left out of the transcript unless asked for.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../machines/app-error.ts';
import type { SequencedEvent } from '../../machines/domain-events.ts';
import type { Db } from '../../supervisor/db/database.ts';
import { logLines, transcript } from '../../supervisor/db/events-repo.ts';
import { EventHub } from '../../supervisor/events/event-hub.ts';
import { EventLog } from '../../supervisor/events/event-log.ts';
import { addJob, addRepo, logged, said, tempDb } from '../helpers/storage-db.ts';

describe('transcript and log pages', () => {
  let db: Db;
  let cleanup: () => void;
  /** seqs of the final (non-delta) transcript entries, ascending. */
  const finals: number[] = [];
  const levels = ['debug', 'info', 'warn', 'error'] as const;

  before(() => {
    ({ db, cleanup } = tempDb());
    addRepo(db, 'r1');
    addJob(db, 'j1');
    addJob(db, 'j2');
    const events: SequencedEvent[] = [];
    // Per round: two deltas, the final message, a log line of a rotating level.
    for (let round = 0, seq = 1; round < 12; round++) {
      events.push(said(seq++, 'He', 'agent_delta'), said(seq++, 'llo', 'agent_delta'));
      finals.push(seq);
      events.push(said(seq++, `message ${round}`));
      events.push(logged(seq++, levels[round % 4]!, `log ${round}`));
    }
    const log = new EventLog(db, new EventHub());
    log.append('j1', events);
    log.append('j2', [said(1, 'other job'), logged(2, 'error', 'other job')]);
  });
  after(() => {
    assert.equal(db.raw.pragma('integrity_check', { simple: true }), 'ok');
    cleanup();
  });

  it('pages the transcript newest first with beforeSeq, without deltas', () => {
    const seen: number[] = [];
    let beforeSeq: number | undefined;
    for (;;) {
      const page = transcript(db, 'j1', { limit: 5, ...(beforeSeq !== undefined ? { beforeSeq } : {}) });
      if (page.length === 0) break;
      assert.ok(page.length <= 5);
      assert.ok(page.every((e) => e.role === 'agent'), 'no deltas');
      seen.push(...page.map((e) => e.seq));
      beforeSeq = page.at(-1)!.seq;
    }
    assert.deepEqual(seen, [...finals].reverse(), 'every final entry once, newest first');
    const [newest] = transcript(db, 'j1', { limit: 1 });
    assert.deepEqual(newest, { seq: finals.at(-1), role: 'agent', text: 'message 11' });
  });

  it('includes deltas when asked', () => {
    const page = transcript(db, 'j1', { limit: 3, includeDeltas: true });
    assert.deepEqual(page.map((e) => e.role), ['agent', 'agent_delta', 'agent_delta']);
  });

  it('filters logs to a level and above, newest first', () => {
    const messages = (level?: string) => logLines(db, 'j1', { limit: 100, ...(level ? { level } : {}) }).map((l) => l.message);
    assert.deepEqual(messages(), Array.from({ length: 12 }, (_, i) => `log ${11 - i}`));
    assert.deepEqual(messages('warn'), ['log 11', 'log 10', 'log 7', 'log 6', 'log 3', 'log 2']);
    assert.deepEqual(messages('error'), ['log 11', 'log 7', 'log 3']);
    assert.equal(messages('debug').length, 12);
    const [first] = logLines(db, 'j1', { limit: 1, level: 'info' });
    assert.equal(first?.level, 'error');
    assert.equal(typeof first?.seq, 'number');
    assert.equal(logLines(db, 'j1', { limit: 2, level: 'warn' }).length, 2, 'limit counts matching lines');
    assert.throws(
      () => logLines(db, 'j1', { limit: 5, level: 'loud' }),
      (e: unknown) => e instanceof AppError && e.code === 'INVALID_LEVEL',
    );
  });
});
