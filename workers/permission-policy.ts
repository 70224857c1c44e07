import { isAbsolute, relative, resolve } from 'node:path';
import type { PermissionMode } from '../machines/job-spec.ts';
import type { PermissionRequest } from './agents/adapter.ts';

/**
 * Decides what happens to a tool the agent wants to use, the same way for
 * every agent. Pure (paths are resolved lexically). The complete policy
 * (hard gates inside compound shell commands, symlinks) grows from here.
 */
export type PolicyVerdict =
  | { action: 'allow' }
  | { action: 'ask'; explicit: boolean; reason?: string }
  | { action: 'deny'; message: string };

const PATH_KEYS = ['file_path', 'path', 'notebook_path', 'fileName'] as const;

/** Paths named by the request that resolve outside the worktree. */
export function pathsOutside(req: PermissionRequest, worktree: string): string[] {
  const out: string[] = [];
  for (const key of PATH_KEYS) {
    const p = req.detail[key];
    if (typeof p !== 'string' || p === '') continue;
    const abs = isAbsolute(p) ? resolve(p) : resolve(worktree, p);
    const rel = relative(worktree, abs);
    if (rel.startsWith('..') || isAbsolute(rel)) out.push(p);
  }
  return out;
}

export function decide(mode: PermissionMode, req: PermissionRequest, worktree: string): PolicyVerdict {
  const outside = pathsOutside(req, worktree);
  if (req.kind === 'read' && outside.length === 0) return { action: 'allow' };
  if (mode === 'observe_only')
    return { action: 'deny', message: `This job is observe-only: ${req.toolName} is not allowed. Only reading files inside the worktree is.` };
  if (outside.length > 0)
    return { action: 'ask', explicit: true, reason: `it touches ${outside.join(', ')}, outside the job's worktree` };
  if (mode === 'full_auto') return { action: 'allow' };
  return { action: 'ask', explicit: false };
}
