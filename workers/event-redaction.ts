import type { DraftEvent } from '../machines/domain-events.ts';
import type { Redactor } from '../machines/redact.ts';

/** Held-back streaming text is released at this size even if it still looks unfinished. */
const MAX_HELD = 16_384;
/** A line is held for naming a secret only this long: such a line is short, and holding longer costs a rescan per delta. */
const MAX_CONTEXT_LINE = 1024;
/** The characters that can make more of the held text releasable (a word's end, a key block's end). */
const MAY_RELEASE = /[ \n\t-]/;

/** The end of a key block: until it has arrived whole, the block is held. */
const KEY_END = /-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/;

/** A line that names a secret (`Authorization: Bearer …`, `DB_PASSWORD=…`): its value may still be coming. */
const SECRET_CONTEXT = /authorization|bearer|secret|passw|token|api_?key|access_?key|private|credential|:\/\//i;

/**
 * The one place a job's events are redacted (machines/redact.ts), just before the outbox
 * numbers them: whatever the supervisor stores, streams or shares has passed through here.
 *
 * Streamed text (`agent_delta`) arrives in arbitrary pieces, and a token split across two
 * deltas would match no rule in either. So the end of the stream that could still be part of a
 * secret is held back: the last word, the whole last line when it names a secret, an unfinished
 * private-key block. It is released with the next delta that completes it, or before the next
 * other event (the agent's final message carries the whole text anyway).
 */
export class EventRedactor {
  private held = '';

  constructor(private readonly redactor: Redactor) {}

  /** The events to publish for `draft`, redacted: none, one, or the released streamed text and then the event. */
  redact(draft: DraftEvent): DraftEvent[] {
    if (draft.type === 'transcript_update' && draft.entry.role === 'agent_delta') {
      const piece = draft.entry.text ?? '';
      // The held text can never be released by itself; a piece without a space, newline or dash
      // cannot change that, so it is appended unscanned (a 200 KB word in one-character deltas
      // rescanned the held text every time: 14 s).
      if (this.held !== '' && this.held.length + piece.length <= MAX_HELD && !MAY_RELEASE.test(piece)) {
        this.held += piece;
        return [];
      }
      const text = this.held + piece;
      const cut = text.length > MAX_HELD ? text.length : releasable(text);
      this.held = text.slice(cut);
      if (cut === 0) return [];
      return [{ type: 'transcript_update', entry: { ...draft.entry, text: this.redactor.text(text.slice(0, cut)) } }];
    }
    return [...this.release(), this.redactor.value(draft)];
  }

  /** The held-back streamed text, redacted, as one last delta (none when nothing is held). */
  release(): DraftEvent[] {
    if (this.held === '') return [];
    const text = this.held;
    this.held = '';
    return [{ type: 'transcript_update', entry: { role: 'agent_delta', text: this.redactor.text(text) } }];
  }
}

/** How much of the streamed text can be redacted and sent now: everything before what may be an unfinished secret. */
export function releasable(text: string): number {
  let cut = text.length;
  // An unterminated key block: hold from its start.
  const begin = text.lastIndexOf('-----BEGIN');
  if (begin >= 0 && !KEY_END.test(text.slice(begin))) cut = begin;
  // The last, unfinished line names a secret: hold it whole.
  const lineStart = text.lastIndexOf('\n') + 1;
  if (text.length - lineStart <= MAX_CONTEXT_LINE && SECRET_CONTEXT.test(text.slice(lineStart))) cut = Math.min(cut, lineStart);
  // Otherwise the last word may be the first half of a token.
  const ws = Math.max(text.lastIndexOf(' '), text.lastIndexOf('\n'), text.lastIndexOf('\t'));
  return Math.min(cut, ws + 1);
}
