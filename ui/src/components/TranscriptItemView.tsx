import { memo } from 'preact/compat';
import type { JobModel } from '../models/job-model.ts';
import type { TItem, TranscriptModel } from '../models/transcript-model.ts';
import { ApprovalCard } from './ApprovalCard.tsx';
import { RichText } from './RichText.tsx';
import { ToolCall } from './ToolCall.tsx';

const ACTIVE = ['queued', 'preparing', 'running', 'waiting_for_approval'];

export type ViewItem = TItem | { kind: 'older'; key: string } | { kind: 'streaming'; key: string; text: string };

/** One transcript row; re-renders only when its item (or a signal it reads) changes, not on every scroll. */
export const TranscriptItemView = memo(function TranscriptItemView({ item, model, t }: { item: ViewItem; model: JobModel; t: TranscriptModel }) {
  switch (item.kind) {
    case 'older':
      return (
        <div class="older">
          {t.olderError.value ? (
            <button type="button" class="btn ghost" onClick={() => void t.loadOlder()}>Could not load earlier entries — retry</button>
          ) : (
            <span class="muted">{t.loadingOlder.value ? 'Loading earlier entries…' : 'Scroll up for earlier entries'}</span>
          )}
        </div>
      );
    case 'prompt':
      return (
        <div class="msg operator">
          <div class="msg-role">Task</div>
          <RichText text={item.text} />
        </div>
      );
    case 'streaming':
      return (
        <div class="msg agent streaming" aria-live="off">
          <div class="msg-role">Agent <span class="typing" aria-label="writing" /></div>
          <RichText text={item.text} />
        </div>
      );
    case 'entry': {
      const e = item.entry;
      if (e.role === 'reasoning') {
        const open = t.expanded.value.has(item.key);
        return (
          <button type="button" class={`reasoning${open ? ' open' : ''}`} aria-expanded={open} onClick={() => t.toggle(item.key)}>
            <span class="msg-role">Thinking</span>
            <span class="reasoning-text">{e.text}</span>
          </button>
        );
      }
      if (e.role === 'system') return <div class="sys-note">{e.text}</div>;
      return (
        <div class={`msg ${e.role === 'operator' ? 'operator' : 'agent'}`} data-seq={e.seq}>
          <div class="msg-role">{e.role === 'operator' ? 'You' : 'Agent'}</div>
          <RichText text={e.text ?? ''} />
        </div>
      );
    }
    case 'tool':
      return <ToolCall itemKey={item.key} call={item.call} result={item.result} worktree={model.job.value?.worktreePath} ended={!ACTIVE.includes(model.job.value?.state ?? 'running')} waiting={model.job.value?.state === 'waiting_for_approval'} open={t.expanded.value.has(item.key)} onToggle={() => t.toggle(item.key)} />;
    case 'approval': {
      const a = model.approvals.value.get(item.approvalId);
      return a ? <ApprovalCard approval={a} worktree={model.job.value?.worktreePath} /> : null;
    }
    case 'note':
      return <div class={`sys-note ${item.tone}`} role={item.tone === 'error' ? 'alert' : undefined}>{item.text}</div>;
  }
});

/** Rough heights before measurement; close guesses keep the scrollbar steady. */
export function estimate(item: ViewItem): number {
  switch (item.kind) {
    case 'tool':
      return 46;
    case 'approval':
      return 220;
    case 'older':
    case 'note':
      return 44;
    case 'entry':
      if (item.entry.role === 'reasoning') return 54;
      return 56 + Math.ceil((item.entry.text?.length ?? 0) / 90) * 22;
    case 'prompt':
    case 'streaming':
      return 56 + Math.ceil(item.text.length / 90) * 22;
  }
}
