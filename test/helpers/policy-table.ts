import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PermissionMode } from '../../machines/job-spec.ts';
import type { PermissionRequest } from '../../workers/agents/adapter.ts';
import { decide, type FsFacts, type PolicyVerdict } from '../../workers/policy/permission-policy.ts';

/**
 * The permission policy's table tests: requests as the adapters build them,
 * and rows of mode × request → expected verdict, checked against `decide`.
 */
export const WT = '/work/jobs/wt';
export const MODES: readonly PermissionMode[] = ['full_auto', 'review_and_approve', 'observe_only'];

export const bash = (command: string): PermissionRequest => ({ toolName: 'Bash', kind: 'shell', summary: command, detail: { command } });
export const copilotShell = (fullCommandText: string, possiblePaths?: string[]): PermissionRequest => ({
  toolName: 'shell',
  kind: 'shell',
  summary: fullCommandText,
  detail: possiblePaths ? { fullCommandText, possiblePaths } : { fullCommandText },
});
export const claudeWrite = (file_path: string): PermissionRequest => ({ toolName: 'Write', kind: 'write', summary: file_path, detail: { file_path, content: 'x' } });
export const claudeEdit = (file_path: string): PermissionRequest => ({ toolName: 'Edit', kind: 'write', summary: file_path, detail: { file_path, old_string: 'a', new_string: 'b' } });
export const copilotWrite = (fileName: string): PermissionRequest => ({ toolName: 'write', kind: 'write', summary: fileName, detail: { fileName, diff: '+x' } });
export const claudeRead = (file_path: string): PermissionRequest => ({ toolName: 'Read', kind: 'read', summary: file_path, detail: { file_path } });
export const glob = (pattern: string): PermissionRequest => ({ toolName: 'Glob', kind: 'read', summary: pattern, detail: { pattern } });

/** Expected verdict per mode: `ask!` is an explicit ask. */
export type Expect = 'allow' | 'ask' | 'ask!' | 'deny';
export interface Row {
  req: PermissionRequest;
  expect: Record<PermissionMode, Expect>;
  /** Must match the reason of every explicit ask and the message of every deny in the row. */
  why?: RegExp;
}
export const row = (req: PermissionRequest, [full_auto, review_and_approve, observe_only]: [Expect, Expect, Expect], why?: RegExp): Row =>
  why ? { req, expect: { full_auto, review_and_approve, observe_only }, why } : { req, expect: { full_auto, review_and_approve, observe_only } };

export const GATE: [Expect, Expect, Expect] = ['ask!', 'ask!', 'deny'];
export const OUTSIDE: [Expect, Expect, Expect] = ['ask!', 'ask!', 'deny'];
/** What the policy cannot judge: asked in every mode, denied in observe_only. */
export const NOT_JUDGED: [Expect, Expect, Expect] = ['ask!', 'ask!', 'deny'];
export const READ_ONLY: [Expect, Expect, Expect] = ['allow', 'allow', 'allow'];
/** Not read-only but nothing to flag: full_auto runs it, review asks, observe_only refuses. */
export const ORDINARY: [Expect, Expect, Expect] = ['allow', 'ask', 'deny'];
/** Contacts another machine: like ORDINARY (observe_only denies, so nothing leaves the machine). */
export const NETWORK: [Expect, Expect, Expect] = ['allow', 'ask', 'deny'];

export function describeVerdict(v: PolicyVerdict): Expect {
  if (v.action !== 'ask') return v.action;
  return v.explicit ? 'ask!' : 'ask';
}

/** One test per row and mode. */
export function runTable(title: string, table: readonly Row[], o: { worktree?: string; fs?: FsFacts } = {}): void {
  describe(title, () => {
    for (const r of table) {
      for (const mode of MODES) {
        const want = r.expect[mode];
        it(`${mode}: ${r.req.toolName} ${JSON.stringify(r.req.summary)} → ${want}`, () => {
          const v = decide(mode, r.req, o.worktree ?? WT, o.fs);
          assert.equal(describeVerdict(v), want, JSON.stringify(v));
          if (v.action === 'deny') assert.match(v.message, /observe-only/);
          const text = v.action === 'deny' ? v.message : v.action === 'ask' && v.explicit ? v.reason : undefined;
          if (r.why && text !== undefined) assert.match(text, r.why);
          if (v.action === 'ask' && v.explicit) assert.ok(v.reason && v.reason.length > 0, 'an explicit ask says why');
        });
      }
    }
  });
}
