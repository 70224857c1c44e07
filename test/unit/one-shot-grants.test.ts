import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OneShotGrants, grantKey, type GrantedCall } from '../../workers/one-shot-grants.ts';
import { decisionMessage } from '../../workers/interrupted-approvals.ts';

const bash = (command: string, extra: Record<string, unknown> = {}): GrantedCall => ({ toolName: 'Bash', kind: 'shell', detail: { command, description: 'Run it', ...extra } });

describe('one-shot grants', () => {
  it('a granted call is allowed once: the first matching call consumes it', () => {
    const g = new OneShotGrants();
    g.add(bash('touch marker'));
    assert.equal(g.take(bash('touch marker')), true);
    assert.equal(g.take(bash('touch marker')), false, 'consumed');
    assert.equal(g.size, 0);
  });

  it('matches the same tool with the same input only', () => {
    const g = new OneShotGrants();
    g.add(bash('touch marker'));
    assert.equal(g.take(bash('touch marker; rm -rf ~')), false, 'another command');
    assert.equal(g.take(bash('touch  marker')), false, 'not normalised: a different string is a different call');
    assert.equal(g.take({ toolName: 'Shell', kind: 'shell', detail: { command: 'touch marker' } }), false, 'another tool');
    assert.equal(g.take({ toolName: 'Bash', kind: 'write', detail: { command: 'touch marker' } }), false, 'another kind');
    assert.equal(g.take(bash('touch marker', { run_in_background: true })), false, 'an extra input field');
    assert.equal(g.take(bash('touch marker', { timeout: 1 })), false, 'another input field');
    assert.equal(g.size, 1, 'none of them used the grant');
    assert.equal(g.take(bash('touch marker')), true);
  });

  it('what only describes the call does not matter: ids, the agent\'s description, key order', () => {
    const g = new OneShotGrants();
    g.add({ toolName: 'bash', kind: 'shell', detail: { fullCommandText: 'make', toolCallId: 'call-1', intention: 'Build it', commands: [{ identifier: 'make', readOnly: false }] } });
    assert.equal(g.take({ toolName: 'bash', kind: 'shell', detail: { commands: [{ readOnly: false, identifier: 'make' }], intention: 'Build the project', toolCallId: 'call-2', fullCommandText: 'make' } }), true);
  });

  it('array order and nested values count', () => {
    assert.notEqual(grantKey({ kind: 'write', detail: { edits: [{ a: 1 }, { a: 2 }] } }), grantKey({ kind: 'write', detail: { edits: [{ a: 2 }, { a: 1 }] } }));
    assert.notEqual(grantKey({ kind: 'write', detail: { file_path: '/w/a', content: 'x' } }), grantKey({ kind: 'write', detail: { file_path: '/w/a', content: 'y' } }));
  });

  it('the same call approved twice is allowed twice', () => {
    const g = new OneShotGrants();
    g.add(bash('npm test'));
    g.add(bash('npm test'));
    assert.equal(g.take(bash('npm test')), true);
    assert.equal(g.take(bash('npm test')), true);
    assert.equal(g.take(bash('npm test')), false);
  });

  it('expires when the turn ends: an unused grant never carries over', () => {
    const g = new OneShotGrants();
    g.add(bash('a'));
    g.add(bash('b'));
    assert.equal(g.take(bash('a')), true);
    assert.equal(g.expire(), 1, 'one lapsed');
    assert.equal(g.take(bash('b')), false);
    assert.equal(g.expire(), 0);
  });
});

describe('the message that tells a resumed agent the answers', () => {
  const approval = (id: string, command: string) => ({ id, kind: 'shell' as const, summary: command, detail: { command }, requestedAt: '2026-12-01T00:00:00Z', explicit: false, toolName: 'Bash' });
  it('names each call and its answer, and the user\'s note for a rejection', () => {
    const text = decisionMessage([
      { approval: approval('a', 'touch marker'), resolution: 'approved' },
      { approval: approval('b', 'rm -rf build'), resolution: 'rejected', note: 'keep the build' },
    ]);
    assert.match(text, /APPROVED: Bash `touch marker`\. Make this same call again/);
    assert.match(text, /REJECTED: Bash `rm -rf build`\. Do not make this call\. The user's note: keep the build/);
  });
});
