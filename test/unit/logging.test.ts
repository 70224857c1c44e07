import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { consoleLine, createRootLogger } from '../../supervisor/log.ts';
import { waitFor } from '../helpers/processes.ts';

describe('logging', () => {
  it('writes JSON lines with a child per job and redacts secrets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpl-logs-'));
    const root = createRootLogger(dir, 'info');
    root.child({ jobId: 'j123' }).info({ password: 'hunter2', token: 'tok', headers: { cookie: 'sid=1' }, fine: 'kept' }, 'hello');
    root.flush();
    // The destination writes asynchronously: wait for the line itself.
    await waitFor(() => readFileSync(join(dir, 'codeplane.log'), { encoding: 'utf8', flag: 'a+' }).includes('"msg":"hello"'), 5000, 'the log line written');
    const lines = readFileSync(join(dir, 'codeplane.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l['msg'] === 'hello')!;
    assert.equal(line['jobId'], 'j123');
    assert.equal(line['fine'], 'kept');
    assert.equal(line['password'], '[redacted]');
    assert.equal(line['token'], '[redacted]');
    assert.equal((line['headers'] as Record<string, unknown>)['cookie'], '[redacted]');
    assert.doesNotMatch(readFileSync(join(dir, 'codeplane.log'), 'utf8'), /hunter2|sid=1/);
  });

  it('prints one short readable line for the job events a person cares about', () => {
    const base = { id: 1, jobId: 'j0000abcdef', seq: 2, ts: '2026-11-24T10:11:12.000Z' };
    assert.equal(consoleLine({ ...base, event: { type: 'job_state_changed', from: 'running', to: 'failed', reason: 'boom' } }), '10:11:12 job abcdef running → failed (boom)');
    assert.match(consoleLine({ ...base, event: { type: 'approval_requested', approval: { id: 'a', kind: 'shell', summary: 'rm -rf x', detail: {}, requestedAt: base.ts, explicit: false } } }) ?? '', /needs approval: rm -rf x/);
    assert.equal(consoleLine({ ...base, event: { type: 'log_line', level: 'info', message: 'noise' } }), undefined);
  });
});
