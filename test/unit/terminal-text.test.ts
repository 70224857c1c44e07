import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleLine } from '../../supervisor/log.ts';
import { terminalSafe } from '../../supervisor/terminal/terminal-text.ts';

/** Whatever a terminal would obey: C0 but tab/newline, DEL, C1, bidi controls, line/paragraph separators. */
const OBEYED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('terminal-safe text', () => {
  it('shows escape sequences instead of letting the terminal obey them', () => {
    const cases: [string, string][] = [
      ['\u001b]52;c;cHduZWQ=\u0007', '\\x1b]52;c;cHduZWQ=\\x07'], // OSC 52: write the clipboard
      ['\u001b]52;c;cHduZWQ=\u001b\\', '\\x1b]52;c;cHduZWQ=\\x1b\\'], // … ended by ST
      ['\u001b[2J\u001b[H', '\\x1b[2J\\x1b[H'], // clear the screen, cursor home
      ['\u001b[1A\u001b[2K', '\\x1b[1A\\x1b[2K'], // cursor up, erase the line
      ['ok\rapproved', 'ok\\x0dapproved'], // overwrite the line
      ['\u0007\u0008\u007f', '\\x07\\x08\\x7f'],
      ['\u009b2J \u009d0;x\u009c', '\\x9b2J \\x9d0;x\\x9c'], // 8-bit CSI, OSC, ST
      ['rm -rf \u202e/ dd\u202c', 'rm -rf \\u202e/ dd\\u202c'], // right-to-left override
      ['a\u2028b', 'a\\u2028b'],
      ['\u0000', '\\x00'],
    ];
    for (const [raw, shown] of cases) {
      assert.equal(terminalSafe(raw), shown, JSON.stringify(raw));
      assert.doesNotMatch(terminalSafe(raw, { multiline: true }), OBEYED);
    }
  });

  it('keeps ordinary text, tabs, and newlines where text has lines', () => {
    const text = 'Fixed the bug in café.ts:\n\t- löst das Problem → 完了 🎉\n';
    assert.equal(terminalSafe(text, { multiline: true }), text);
    assert.equal(terminalSafe(text), 'Fixed the bug in café.ts:\\x0a\t- löst das Problem → 完了 🎉\\x0a', 'one line per event');
  });

  it('is applied to every line the server prints for a job event', () => {
    const base = { id: 1, jobId: 'j0000abcdef', seq: 2, ts: '2026-11-24T10:11:12.000Z' };
    const summary = "printf '\u001b]52;c;cHduZWQ=\u0007\u001b[2J'\nsecond line";
    const lines = [
      consoleLine({ ...base, event: { type: 'approval_requested', approval: { id: 'a', kind: 'shell', summary, detail: {}, requestedAt: base.ts, explicit: false } } }),
      consoleLine({ ...base, event: { type: 'job_created', title: 'T\u001b[31mred\u009b', agent: 'claude', repoId: 'r' } }),
      consoleLine({ ...base, event: { type: 'job_state_changed', from: 'running', to: 'failed', reason: 'boom\u0007\r' } }),
    ];
    for (const l of lines) {
      assert.ok(l);
      assert.doesNotMatch(l, OBEYED);
      assert.doesNotMatch(l, /\n/);
    }
    assert.match(lines[0]!, /needs approval: printf '\\x1b\]52;c;cHduZWQ=\\x07\\x1b\[2J'\\x0asecond line/);
  });
});
