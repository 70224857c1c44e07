import type { TranscriptEntry } from '../../../api/contract.ts';
import { relPath } from '../format.ts';
import { summarizeInput } from '../models/jobs-store.ts';

const MAX_OUTPUT = 20_000;

function inputText(input: unknown): string {
  if (input === undefined) return '';
  if (typeof input === 'string') return input;
  if (typeof input === 'object' && input !== null) {
    const o = input as Record<string, unknown>;
    if (typeof o['command'] === 'string' && Object.keys(o).every((k) => k === 'command' || k === 'description')) return `$ ${o['command']}`;
  }
  return JSON.stringify(input, null, 2);
}

/** A tool call with its result: one line collapsed, input and output expanded. */
export function ToolCall(props: { itemKey: string; call?: TranscriptEntry | undefined; result?: TranscriptEntry | undefined; worktree?: string | undefined; ended?: boolean; waiting?: boolean; open: boolean; onToggle(): void }) {
  const { call, result, open } = props;
  const name = call?.toolName ?? result?.toolName ?? 'Tool';
  const summary = relPath(summarizeInput(call?.toolInput), props.worktree);
  const status = !result ? (props.ended ? 'none' : 'pending') : result.toolSuccess === false ? 'error' : 'ok';
  const output = result?.toolOutput ?? result?.text ?? '';
  const bodyId = `tool-${props.itemKey}`;
  return (
    <div class={`tool tool-${status}${open ? ' open' : ''}`}>
      <button type="button" class="tool-head" aria-expanded={open} aria-controls={bodyId} onClick={props.onToggle}>
        <span class="chev" aria-hidden="true">{open ? '▾' : '▸'}</span>
        <span class="tool-name">{name}</span>
        <span class="tool-summary">{summary}</span>
        <span class={`tool-status ${status}`}>
          {status === 'pending' ? (props.waiting ? 'awaiting approval' : 'running…') : status === 'none' ? 'no result' : status === 'error' ? 'failed' : '✓'}
          {result?.durationMs !== undefined && <span class="muted"> {(result.durationMs / 1000).toFixed(1)}s</span>}
        </span>
      </button>
      {open && (
        <div class="tool-body" id={bodyId}>
          {call && (
            <>
              <div class="tool-label">Input</div>
              <pre class="snippet">{inputText(call.toolInput)}</pre>
            </>
          )}
          {result && (
            <>
              <div class="tool-label">Output</div>
              <pre class={`snippet${status === 'error' ? ' error' : ''}`}>
                {output.length > MAX_OUTPUT ? `${output.slice(0, MAX_OUTPUT)}\n… ${output.length - MAX_OUTPUT} more characters` : output || '(no output)'}
              </pre>
            </>
          )}
        </div>
      )}
    </div>
  );
}
