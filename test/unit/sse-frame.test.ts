import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoredEvent } from '../../api/contract.ts';
import { frame, rawFrame } from '../../api/sse.ts';
import type { DomainEvent } from '../../machines/domain-events.ts';

const events: DomainEvent[] = [
  { type: 'transcript_update', entry: { seq: 7, role: 'agent_delta', text: 'line 1\nline 2 "quoted" \u2028 é 🚀 \u0000' } },
  { type: 'job_state_changed', from: 'running', to: 'failed', reason: 'boom\r\nevent: forged\n\ndata: x' },
  { type: 'log_line', level: 'warn', message: '' },
  { type: 'diff_update', stats: { files: 2, additions: 3, deletions: 1 }, files: [{ path: 'a b/ü.txt', additions: 3, deletions: 1, status: 'modified' }] },
] as DomainEvent[];

describe('SSE frames', () => {
  it('a replayed row gives byte for byte the frame of the decoded event', () => {
    events.forEach((event, i) => {
      const stored: StoredEvent = { id: 1000 + i, jobId: 'j\u00e9"1', seq: 40 + i, ts: '2026-11-24T09:00:00.000Z', event };
      const raw = { id: stored.id, jobId: stored.jobId, seq: stored.seq, ts: stored.ts, type: event.type, payload: JSON.stringify(event) };
      assert.equal(rawFrame(raw), frame(stored));
    });
  });

  it('never lets a newline in a value break out of the data line', () => {
    for (const event of events) {
      const f = frame({ id: 1, jobId: 'j', seq: 1, ts: 't', event });
      const lines = f.split('\n');
      assert.deepEqual(lines.slice(-2), ['', '']);
      assert.equal(lines.length, 5, 'id, event, data, then the blank line');
    }
  });
});
