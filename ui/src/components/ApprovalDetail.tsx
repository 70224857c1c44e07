import type { Approval } from '../../../api/contract.ts';
import { relPath } from '../format.ts';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function DiffSnippet({ text, max }: { text: string; max: number }) {
  const lines = text.split('\n').filter((l) => !l.startsWith('---') && !l.startsWith('+++'));
  const shown = lines.slice(0, max);
  return (
    <pre class="snippet diff-snippet">
      {shown.map((l, i) => (
        <span key={i} class={l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : l.startsWith('@@') ? 'hunk' : ''}>
          {l}
          {'\n'}
        </span>
      ))}
      {lines.length > max && <span class="muted">… {lines.length - max} more lines</span>}
    </pre>
  );
}

/** The command, file or diff an approval is about. */
export function ApprovalDetail({ approval, compact, worktree }: { approval: Approval; compact: boolean; worktree?: string | undefined }) {
  const d = approval.detail;
  const command = str(d['command']);
  const path = str(d['file_path']) ?? str(d['path']);
  const url = str(d['url']);
  const diff = str(d['diff']);
  const content = str(d['content']);
  const max = compact ? 8 : 40;
  return (
    <div class="approval-detail">
      {command ? (
        <pre class="snippet command">
          <span class="prompt-sign" aria-hidden="true">$ </span>
          {command}
        </pre>
      ) : path ? (
        <p class="path"><code title={path}>{relPath(path, worktree)}</code></p>
      ) : url ? (
        <p class="path"><code>{url}</code></p>
      ) : (
        <p class="summary">{relPath(approval.summary, worktree)}</p>
      )}
      {diff ? <DiffSnippet text={diff} max={max} /> : content && !command ? <pre class="snippet">{content.split('\n').slice(0, max).join('\n')}</pre> : null}
      {str(d['reason']) && <p class="muted small">{str(d['reason'])}</p>}
    </div>
  );
}
