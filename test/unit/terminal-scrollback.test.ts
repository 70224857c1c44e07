import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TerminalScrollback } from '../../supervisor/terminal/terminal-scrollback.ts';
import { TERMINAL_CLOSE, closeReason, terminalControlDecoder } from '../../api/terminal-protocol.ts';
import { decode } from '../../machines/decode.ts';

describe('terminal scrollback', () => {
  it('keeps everything under the limit, in order', () => {
    const s = new TerminalScrollback(100);
    s.append('one\r\n');
    s.append('');
    s.append('two\r\n');
    assert.equal(s.text(), 'one\r\ntwo\r\n');
    assert.equal(s.size, 10);
    assert.equal(s.text(), 'one\r\ntwo\r\n', 'reading twice gives the same text');
  });

  it('drops the oldest output past the limit and restarts at a line start', () => {
    const s = new TerminalScrollback(20);
    for (let i = 0; i < 10; i++) s.append(`line ${i}\r\n`);
    const text = s.text();
    assert.ok(text.length <= 20, `${text.length} chars kept`);
    assert.ok(text.startsWith('line '), JSON.stringify(text));
    assert.ok(text.endsWith('line 9\r\n'));
  });

  it('keeps the tail of one chunk larger than the limit', () => {
    const s = new TerminalScrollback(1000);
    s.append(`${'a'.repeat(5000)}\n${'b'.repeat(500)}`);
    assert.equal(s.text(), 'b'.repeat(500));
    s.append('x'.repeat(3000)); // no line break near the cut: a raw cut
    assert.equal(s.text(), 'x'.repeat(1000));
    assert.equal(s.size, 1000);
  });

  it('never splits a surrogate pair at a raw cut', () => {
    const s = new TerminalScrollback(5);
    s.append('ab😀😀😀'); // 8 UTF-16 units: a cut at 3 would land inside the first emoji
    const text = s.text();
    assert.ok(!/^[\udc00-\udfff]/.test(text), JSON.stringify(text));
    assert.equal(text, '😀😀');
  });

  it('refuses a nonsensical limit', () => {
    assert.throws(() => new TerminalScrollback(0), RangeError);
  });
});

describe('terminal control messages', () => {
  it('accepts resize within 1..1000 and text input', () => {
    assert.deepEqual(decode(terminalControlDecoder, { type: 'resize', cols: 1, rows: 1000 }), { ok: true, value: { type: 'resize', cols: 1, rows: 1000 } });
    assert.deepEqual(decode(terminalControlDecoder, { type: 'input', data: 'ls\r' }), { ok: true, value: { type: 'input', data: 'ls\r' } });
  });

  it('refuses anything else, naming the field', () => {
    const bad: [unknown, string][] = [
      [{ type: 'resize', cols: 0, rows: 5 }, 'cols'],
      [{ type: 'resize', cols: 5, rows: 1001 }, 'rows'],
      [{ type: 'resize', cols: 5.5, rows: 5 }, 'cols'],
      [{ type: 'resize', cols: '80', rows: 5 }, 'cols'],
      [{ type: 'resize', cols: 80 }, 'rows'],
      [{ type: 'exec', cmd: 'rm' }, 'type'],
      [{ type: 'input' }, 'data'],
      [[], ''],
      [null, ''],
      ['resize', ''],
    ];
    for (const [value, field] of bad) {
      const r = decode(terminalControlDecoder, value);
      assert.equal(r.ok, false, JSON.stringify(value));
      if (!r.ok) assert.equal(r.error.field, field, JSON.stringify(value));
    }
  });

  it('keeps close reasons within 123 bytes, whole characters only', () => {
    const reason = closeReason('JOB_RESOLVED', 'é'.repeat(200));
    assert.ok(Buffer.byteLength(reason) <= 123);
    assert.ok(reason.startsWith('JOB_RESOLVED: é'));
    assert.ok(!reason.includes('\ufffd'));
    assert.equal(TERMINAL_CLOSE.INVALID_MESSAGE, 1008);
  });
});
