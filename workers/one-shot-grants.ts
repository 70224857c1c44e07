/**
 * One-shot grants. When the user approves a tool call whose turn was interrupted (the server
 * stopped, the machine rebooted, the worker died while the approval waited), the agent's new
 * session is told the answer and makes the same call again. That call, once, runs without asking
 * again: the grant matches the same tool with the same input, is consumed by the first call that
 * matches, and expires when the turn it was given for ends. Only a call the permission policy
 * would have asked about is ever granted (the caller checks the grant after the policy).
 * Scoped to one job: each job's worker holds its own grants. Pure.
 */

/** A tool call as the permission layer sees it (see PermissionRequest). */
export interface GrantedCall {
  toolName?: string;
  kind: string;
  detail: Record<string, unknown>;
}

/**
 * Keys of a request's detail that describe a call rather than define what it does: an id that
 * differs on every call, and the free text an agent writes about the call (Claude's Bash
 * `description`, Copilot's `intention`, warnings, the UI hints). Everything else must be equal,
 * so an unknown field that differs makes the grant not match: the agent is asked again (safe).
 */
const DESCRIPTIVE = new Set(['toolCallId', 'description', 'intention', 'warning', 'decisionReason', 'canOfferSessionApproval', 'riskAssessment']);

/** Key order does not matter; values do (arrays in order). */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}

/** What a grant is matched by: the tool, the kind of action, and the input that defines it. */
export function grantKey(call: GrantedCall): string {
  const defining = Object.fromEntries(Object.entries(call.detail).filter(([k]) => !DESCRIPTIVE.has(k)));
  return JSON.stringify([call.toolName ?? null, call.kind, canonical(defining)]);
}

export class OneShotGrants {
  /** Keys, one entry per grant (approving the same call twice allows it twice). */
  private keys: string[] = [];

  add(call: GrantedCall): void {
    this.keys.push(grantKey(call));
  }

  /** True, and the grant is used up, when one matches this call. */
  take(call: GrantedCall): boolean {
    const i = this.keys.indexOf(grantKey(call));
    if (i < 0) return false;
    this.keys.splice(i, 1);
    return true;
  }

  /** The turn the grants were given for ended: the unused ones lapse. Returns how many did. */
  expire(): number {
    const lapsed = this.keys.length;
    this.keys = [];
    return lapsed;
  }

  get size(): number {
    return this.keys.length;
  }
}
