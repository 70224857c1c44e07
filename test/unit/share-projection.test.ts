import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Job, StoredEvent } from '../../api/contract.ts';
import type { DomainEvent } from '../../machines/domain-events.ts';
import { createRedactor } from '../../machines/redact.ts';
import { ShareProjection } from '../../supervisor/shares/share-projection.ts';

const scope = { codeplaneHome: '/home/u/.codeplane', worktreesDir: '/home/u/.codeplane/worktrees', userHome: '/home/u', redactor: createRedactor([{ name: 'CPL_PASSWORD', value: 'server-only-password' }]) };
const job = { worktreePath: '/home/u/.codeplane/worktrees/app-1234/j1', repo: '/home/u/src/app' } as Pick<Job, 'worktreePath' | 'repo'>;
const p = new ShareProjection(job, scope);
const stored = (event: DomainEvent | Record<string, unknown>): StoredEvent => ({ id: 7, jobId: 'j1', seq: 3, ts: '2026-01-01T00:00:00.000Z', event: event as DomainEvent });
const GHP = `ghp_${'a1B2c3D4e5'.repeat(4)}`;

describe('the share projection: text', () => {
  const table: [string, string][] = [
    ['/home/u/.codeplane/worktrees/app-1234/j1/src/a.ts', 'src/a.ts'],
    ['cd /home/u/.codeplane/worktrees/app-1234/j1 && ls', 'cd . && ls'],
    ['/home/u/.codeplane/worktrees/app-1234/j2/x', '[worktrees]/app-1234/j2/x'],
    ['/home/u/.codeplane/jobs/j1/agent-home', '[codeplane-home]/jobs/j1/agent-home'],
    ['/home/u/src/app/README.md', '[repo]/README.md'],
    ['/home/u/src/app-other/x', '~/src/app-other/x'],
    ['/home/u/.ssh/id_rsa', '~/.ssh/id_rsa'],
    ['/home/u2/file and /home/user', '/home/u2/file and /home/user'],
    ['/usr/bin/node', '/usr/bin/node'],
    [`token ${GHP} in /home/u`, 'token [REDACTED:github-token] in ~'],
    ['the password is server-only-password', 'the password is [REDACTED:env:CPL_PASSWORD]'],
  ];
  for (const [input, expected] of table) it(JSON.stringify(input), () => assert.equal(p.text(input), expected));
});

describe('the share projection: events, deny by default', () => {
  it('an event type it does not know is dropped, whatever it carries', () => {
    assert.equal(p.event(stored({ type: 'future_event', path: job.worktreePath, token: GHP })), undefined);
    assert.equal(p.event(stored({ type: 'transcript_updated', entry: { text: 'x' } })), undefined);
  });
  for (const event of [
    { type: 'log_line', level: 'info', message: 'hello' },
    { type: 'telemetry', inputTokens: 1, outputTokens: 2 },
    { type: 'session_started', agentSessionId: 'sess-123' },
    { type: 'job_created', title: 't', agent: 'claude', repoId: 'r1' },
    { type: 'containment_alarm', message: 'main moved', changes: [{ ref: 'refs/heads/main', change: 'moved', before: 'a', after: 'b', undone: true }] },
  ] as DomainEvent[])
    it(`${event.type} is not shown`, () => assert.equal(p.event(stored(event)), undefined));

  it('an approval: its summary only, no detail', () => {
    const out = p.event(stored({ type: 'approval_requested', approval: { id: 'a1', kind: 'shell', summary: `rm ${job.worktreePath}/x ${GHP}`, detail: { command: 'secret stuff', diff: 'secret diff' }, requestedAt: 't', explicit: true, toolName: 'Bash' } }));
    assert.deepEqual(out?.event, { type: 'approval_requested', approval: { id: 'a1', kind: 'shell', summary: 'rm x [REDACTED:github-token]', detail: {}, requestedAt: 't', explicit: true, toolName: 'Bash' } });
    assert.deepEqual(p.event(stored({ type: 'approval_resolved', approvalId: 'a1', resolution: 'rejected', note: `no, ${GHP}` }))?.event, { type: 'approval_resolved', approvalId: 'a1', resolution: 'rejected' });
  });

  it('a transcript entry: rebuilt field by field, text and tool input projected', () => {
    const out = p.event(stored({ type: 'transcript_update', entry: { seq: 3, role: 'tool_call', toolName: 'Bash', toolInput: { command: `cat ${job.repo}/a`, nested: [GHP] }, toolCallId: 'c1', extra: 'not shown' } as never }));
    assert.deepEqual(out, { id: 7, jobId: 'j1', seq: 3, ts: '2026-01-01T00:00:00.000Z', event: { type: 'transcript_update', entry: { seq: 3, role: 'tool_call', toolName: 'Bash', toolInput: { command: 'cat [repo]/a', nested: ['[REDACTED:github-token]'] }, toolCallId: 'c1' } } });
  });

  it('a tool input nested 100,000 deep does not overflow the stack', () => {
    let deep: unknown = job.worktreePath;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const out = p.event(stored({ type: 'transcript_update', entry: { seq: 1, role: 'tool_call', toolName: 'X', toolInput: deep } }));
    const text = JSON.stringify(out);
    assert.ok(text.includes('[REDACTED:too-deep]'));
    assert.equal(text.includes(job.worktreePath), false);
  });

  it('state changes, diffs and resolutions keep their facts, text projected', () => {
    assert.deepEqual(p.event(stored({ type: 'job_state_changed', from: 'running', to: 'failed', reason: `crashed in ${job.worktreePath}/x` }))?.event, { type: 'job_state_changed', from: 'running', to: 'failed', reason: 'crashed in x' });
    assert.deepEqual(p.event(stored({ type: 'diff_update', stats: { files: 1, additions: 2, deletions: 0 }, files: [{ path: `${GHP}.txt`, status: 'added', additions: 2, deletions: 0 }] }))?.event, { type: 'diff_update', stats: { files: 1, additions: 2, deletions: 0 }, files: [{ path: '[REDACTED:github-token].txt', status: 'added', additions: 2, deletions: 0 }] });
    assert.deepEqual(p.event(stored({ type: 'job_resolved', resolution: 'merged', conflictFiles: ['/home/u/src/app/a'] }))?.event, { type: 'job_resolved', resolution: 'merged', conflictFiles: ['[repo]/a'] });
  });
});
