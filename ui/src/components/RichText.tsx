/** Agent text: fenced code blocks as <pre>, the rest as wrapped paragraphs. No HTML is interpreted. */
export function RichText({ text }: { text: string }) {
  const parts = text.split(/```/);
  return (
    <div class="rich">
      {parts.map((part, i) => {
        if (i % 2 === 1) {
          const nl = part.indexOf('\n');
          const body = nl >= 0 && /^[\w+-]*$/.test(part.slice(0, nl)) ? part.slice(nl + 1) : part;
          return <pre key={i} class="code">{body.replace(/\n$/, '')}</pre>;
        }
        const trimmed = part.replace(/^\n+|\n+$/g, '');
        return trimmed ? <p key={i}>{renderInline(trimmed)}</p> : null;
      })}
    </div>
  );
}

function renderInline(s: string) {
  const bits = s.split(/(`[^`\n]+`)/);
  return bits.map((b, i) => (b.length > 2 && b.startsWith('`') && b.endsWith('`') ? <code key={i}>{b.slice(1, -1)}</code> : b));
}
