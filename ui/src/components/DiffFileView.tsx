import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { splitRows } from '../diff-split.ts';
import type { DiffMode } from '../models/diff-model.ts';
import type { DiffFile, DiffLine } from '../types.ts';

const LINE_PX = 20;
/** Beyond this many lines a file starts collapsed; within a file, this many lines render before "show all". */
const BIG_FILE = 1500;
const FIRST_CHUNK = 800;

const STATUS = { added: 'A', modified: 'M', deleted: 'D', renamed: 'R' } as const;

export const fileAnchor = (path: string): string => `file-${encodeURIComponent(path).replace(/%/g, '_')}`;

const lineCount = (f: DiffFile) => f.hunks.reduce((n, h) => n + h.lines.length + 1, 0);

/** One file of the diff. Its body renders only once it nears the viewport, and big files start collapsed. */
export function DiffFileView({ file, mode }: { file: DiffFile; mode: DiffMode }) {
  const lines = lineCount(file);
  const open = useSignal(lines <= BIG_FILE);
  const visible = useSignal(false);
  const all = useSignal(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (visible.value || !open.value) return;
    const io = new IntersectionObserver((es) => {
      if (es.some((e) => e.isIntersecting)) {
        visible.value = true;
        io.disconnect();
      }
    }, { rootMargin: '600px 0px' });
    io.observe(ref.current!);
    return () => io.disconnect();
  }, [open.value]);

  return (
    <section class="diff-file" id={fileAnchor(file.path)} data-path={file.path}>
      <button type="button" class="diff-file-head" aria-expanded={open.value} onClick={() => (open.value = !open.value)}>
        <span class={`fstatus ${file.status}`} title={file.status}>{STATUS[file.status]}</span>
        <span class="fpath">{file.oldPath && file.oldPath !== file.path ? `${file.oldPath} → ` : ''}{file.path}</span>
        <span class="diffstat"><span class="add">+{file.additions}</span> <span class="del">−{file.deletions}</span></span>
      </button>
      <div ref={ref} class="diff-file-body">
        {!open.value ? (
          lines > BIG_FILE ? <p class="muted pad">Large diff ({lines} lines) — click the file name to show it.</p> : null
        ) : file.binary ? (
          <p class="muted pad">Binary file</p>
        ) : !visible.value ? (
          <div class="diff-placeholder" style={{ height: `${Math.min(lines, FIRST_CHUNK) * LINE_PX}px` }} />
        ) : (
          <DiffBody file={file} mode={mode} limit={all.value ? Infinity : FIRST_CHUNK} />
        )}
        {open.value && visible.value && !all.value && lines > FIRST_CHUNK && (
          <button type="button" class="btn ghost more" onClick={() => (all.value = true)}>Show all {lines} lines</button>
        )}
        {file.truncated && <p class="muted pad">This file's diff was cut short by the server.</p>}
      </div>
    </section>
  );
}

const num = (n: number | undefined) => (n === undefined ? '' : String(n));
const sign = (l: DiffLine) => (l.type === 'add' ? '+' : l.type === 'del' ? '-' : ' ');

function DiffBody({ file, mode, limit }: { file: DiffFile; mode: DiffMode; limit: number }) {
  let budget = limit;
  const rows = [];
  for (let h = 0; h < file.hunks.length && budget > 0; h++) {
    const hunk = file.hunks[h]!;
    rows.push(<tr key={`h${h}`} class="hunk"><td colSpan={mode === 'split' ? 4 : 3}>{hunk.header}</td></tr>);
    budget--;
    if (mode === 'unified') {
      for (let i = 0; i < hunk.lines.length && budget > 0; i++, budget--) {
        const l = hunk.lines[i]!;
        rows.push(<tr key={`${h}-${i}`} class={l.type}><td class="ln">{num(l.oldNo)}</td><td class="ln">{num(l.newNo)}</td><td class="code"><span class="sign">{sign(l)}</span>{l.text}</td></tr>);
      }
    } else {
      const split = splitRows(hunk.lines);
      for (let i = 0; i < split.length && budget > 0; i++, budget--) {
        const { left, right } = split[i]!;
        rows.push(
          <tr key={`${h}-${i}`}>
            <td class={`ln ${left?.type ?? 'empty'}`}>{num(left?.oldNo)}</td>
            <td class={`code ${left?.type ?? 'empty'}`}>{left ? left.text : ''}</td>
            <td class={`ln ${right?.type ?? 'empty'}`}>{num(right?.newNo)}</td>
            <td class={`code ${right?.type ?? 'empty'}`}>{right ? right.text : ''}</td>
          </tr>,
        );
      }
    }
  }
  return (
    <div class="diff-scroll">
      <table class={`diff-table ${mode}`}><tbody>{rows}</tbody></table>
    </div>
  );
}
