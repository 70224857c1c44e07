import type { ApprovalKind } from '../../machines/domain-events.ts';
import type { PermissionRequest } from './adapter.ts';

const WRITE_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);
const READ_TOOLS = new Set(['Read', 'Glob', 'Grep', 'LS']);
const URL_TOOLS = new Set(['WebFetch', 'WebSearch']);
const PREVIEW_CHARS = 20_000;

export function approvalKind(toolName: string): ApprovalKind {
  if (toolName === 'Bash') return 'shell';
  if (WRITE_TOOLS.has(toolName)) return 'write';
  if (READ_TOOLS.has(toolName)) return 'read';
  if (URL_TOOLS.has(toolName)) return 'url';
  if (toolName.startsWith('mcp__')) return 'mcp';
  return 'other';
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The first field that names what the tool acts on, first line only: it is a one-line label. */
function summaryOf(toolName: string, input: Record<string, unknown>): string {
  const candidates = [input.command, input.file_path, input.notebook_path, input.path, input.url, input.pattern, input.query];
  const found = candidates.map(str).find((s) => s !== undefined && s.length > 0);
  return (found ?? toolName).split('\n')[0] ?? toolName;
}

const prefixLines = (text: string, mark: string): string =>
  text
    .split('\n')
    .map((l) => `${mark}${l}`)
    .join('\n');

/** A unified-diff-like preview so a human can judge a write without opening the worktree. */
function diffPreview(toolName: string, input: Record<string, unknown>): string | undefined {
  const path = str(input.file_path) ?? str(input.notebook_path) ?? '';
  const hunk = (oldText: string, newText: string): string =>
    [oldText ? prefixLines(oldText, '-') : '', newText ? prefixLines(newText, '+') : ''].filter(Boolean).join('\n');
  let body: string | undefined;
  if (toolName === 'Write') body = hunk('', str(input.content) ?? '');
  else if (toolName === 'Edit') body = hunk(str(input.old_string) ?? '', str(input.new_string) ?? '');
  else if (toolName === 'MultiEdit' && Array.isArray(input.edits)) {
    body = input.edits
      .map((e: unknown) => (typeof e === 'object' && e !== null ? (e as Record<string, unknown>) : {}))
      .map((e) => `@@\n${hunk(str(e.old_string) ?? '', str(e.new_string) ?? '')}`)
      .join('\n');
  } else if (toolName === 'NotebookEdit') body = hunk('', str(input.new_source) ?? '');
  if (body === undefined) return undefined;
  const text = `--- ${path}\n+++ ${path}\n${body}`;
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}\n… (truncated)` : text;
}

export function buildPermissionRequest(
  toolName: string,
  input: Record<string, unknown>,
  extra: { toolUseID?: string; blockedPath?: string; decisionReason?: string },
): PermissionRequest {
  // The input's own fields at top level (command, file_path, url...) so the policy reads them directly.
  const detail: Record<string, unknown> = { ...input };
  const diff = diffPreview(toolName, input);
  if (diff !== undefined) detail.diff = diff;
  if (extra.blockedPath !== undefined) detail.blockedPath = extra.blockedPath;
  if (extra.decisionReason !== undefined) detail.decisionReason = extra.decisionReason;
  const req: PermissionRequest = { toolName, kind: approvalKind(toolName), summary: summaryOf(toolName, input), detail };
  if (extra.toolUseID !== undefined) req.toolCallId = extra.toolUseID;
  return req;
}
