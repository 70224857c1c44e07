import type { PermissionRequest as CopilotPermissionRequest, PermissionRequestResult } from '@github/copilot-sdk';
import type { ApprovalKind } from '../../machines/domain-events.ts';
import type { PermissionDecision, PermissionRequest } from './adapter.ts';

const KINDS: Readonly<Record<string, ApprovalKind>> = { shell: 'shell', write: 'write', read: 'read', url: 'url', mcp: 'mcp' };
const PREVIEW_CHARS = 20_000;

type Rec = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const truncated = (v: unknown): unknown =>
  typeof v === 'string' && v.length > PREVIEW_CHARS ? `${v.slice(0, PREVIEW_CHARS)}\n… (truncated)` : v;

/** Copilot's request kinds beyond these five (memory, custom-tool, hook, extension…) are 'other'. */
export function approvalKind(kind: string): ApprovalKind {
  return KINDS[kind] ?? 'other';
}

/** The first field that names what the request acts on, first line only: it is a one-line label. */
function summaryOf(r: Rec): string {
  const mcp = r.kind === 'mcp' && str(r.serverName) ? `${String(r.serverName)}/${String(r.toolName ?? '')}` : undefined;
  const found = [r.fullCommandText, r.fileName, r.path, r.url, mcp, r.fact, r.toolName].map(str).find((s) => s !== undefined);
  return (found ?? String(r.kind ?? 'tool')).split('\n')[0] ?? 'tool';
}

/**
 * The runtime's request as the policy and the user see it. `detail` keeps the request's own
 * fields (fileName, diff, fullCommandText, possiblePaths…); a shell request also gets `command`,
 * the name Claude's Bash input uses, so the policy and the UI read one key for both agents.
 * `toolName` is the tool that asked (from tool.execution_start), else the request kind.
 */
export function buildPermissionRequest(request: CopilotPermissionRequest, toolName: string | undefined): PermissionRequest {
  const fields: Rec = { ...request };
  const detail: Rec = {};
  for (const [key, value] of Object.entries(fields)) detail[key] = truncated(value);
  if (request.kind === 'shell') detail.command = request.fullCommandText;
  const req: PermissionRequest = {
    toolName: toolName ?? str(fields.toolName) ?? request.kind,
    kind: approvalKind(request.kind),
    summary: summaryOf(fields),
    detail,
  };
  const toolCallId = str(fields.toolCallId);
  if (toolCallId !== undefined) req.toolCallId = toolCallId;
  return req;
}

export function toCopilotResult(decision: PermissionDecision): PermissionRequestResult {
  return decision.behavior === 'allow' ? { kind: 'approve-once' } : { kind: 'reject', feedback: decision.message };
}

interface Pending {
  controller: AbortController;
  requestId?: string;
}

/**
 * Permission requests our handler is still deciding. The SDK calls the handler with the request
 * object only (no request id, no abort signal), synchronously before it dispatches the same
 * `permission.requested` event to listeners; the event carries that very object and the id.
 * `permission.completed` for a request we still hold means the runtime stopped waiting
 * (cancelled by an abort, or answered elsewhere): its signal is aborted.
 */
export class PendingPermissions {
  private readonly byRequest = new WeakMap<object, Pending>();
  private readonly all = new Set<Pending>();

  begin(request: object): AbortSignal {
    const entry: Pending = { controller: new AbortController() };
    this.byRequest.set(request, entry);
    this.all.add(entry);
    return entry.controller.signal;
  }

  end(request: object): void {
    const entry = this.byRequest.get(request);
    if (entry) this.all.delete(entry);
    this.byRequest.delete(request);
  }

  /** From `permission.requested`: names the handler call the SDK has just made. */
  identify(request: unknown, requestId: string): void {
    const entry = typeof request === 'object' && request !== null ? this.byRequest.get(request) : undefined;
    if (entry) entry.requestId = requestId;
  }

  /** From `permission.completed`: the runtime no longer waits for this request. */
  completed(requestId: string): void {
    for (const entry of this.all) if (entry.requestId === requestId) this.withdraw(entry);
  }

  /** The runtime is gone or the session is closing: nobody waits for any answer. */
  withdrawAll(): void {
    for (const entry of this.all) this.withdraw(entry);
  }

  private withdraw(entry: Pending): void {
    this.all.delete(entry);
    entry.controller.abort();
  }
}
