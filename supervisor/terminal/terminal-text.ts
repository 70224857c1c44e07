/**
 * Text from agents (and anything else we do not write ourselves) made safe
 * for the terminal that runs `cpl up` or `cpl run`. A terminal obeys control
 * characters: an agent printing OSC 52 could fill the user's clipboard, CSI
 * sequences could clear the screen or move the cursor to forge an approval
 * prompt, BEL rings, a bare CR overwrites the line, C1 controls (U+0080–U+009F,
 * 8-bit CSI/OSC among them) and bidi overrides reorder what is shown. Every
 * such character is shown as a visible escape (`\x1b`, `\u202e`) and never
 * reaches the terminal raw; ordinary text, tabs and (in multi-line text)
 * newlines are kept.
 */
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const visible = (c: string): string => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** `multiline`: keep `\n` as a line break (agent text); otherwise it is shown as `\x0a` (one line per event). */
export function terminalSafe(text: string, opts: { multiline?: boolean } = {}): string {
  return text.replace(UNSAFE, (c) => (c === '\n' && opts.multiline ? c : visible(c)));
}
