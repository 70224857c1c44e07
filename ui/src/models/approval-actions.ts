import { signal } from '@preact/signals';
import type { Approval } from '../../../api/contract.ts';
import { ApiError, api, errorText } from '../api.ts';
import { pendingApprovals } from './jobs-store.ts';

type Answer = 'approved' | 'rejected';

/** Approvals being answered right now, and the last error per approval. */
export const answering = signal<ReadonlyMap<string, Answer>>(new Map());
export const answerErrors = signal<ReadonlyMap<string, string>>(new Map());
/** Answers this browser gave, so every view shows them before the event arrives. */
export const answered = signal<ReadonlyMap<string, Approval>>(new Map());

const set = <V>(m: ReadonlyMap<string, V>, k: string, v: V | undefined): Map<string, V> => {
  const n = new Map(m);
  if (v === undefined) n.delete(k);
  else n.set(k, v);
  return n;
};

/** Answers one approval; the first answer wins (a 409 means someone else answered it). */
export async function answerApproval(approval: Approval, resolution: Answer, note?: string): Promise<boolean> {
  if (answering.value.has(approval.id)) return false;
  answering.value = set(answering.value, approval.id, resolution);
  answerErrors.value = set(answerErrors.value, approval.id, undefined);
  try {
    const result = await api.resolveApproval(approval.id, resolution, note?.trim() || undefined);
    answered.value = set(answered.value, approval.id, result);
    pendingApprovals.value = set(pendingApprovals.value, approval.id, undefined);
    return true;
  } catch (e) {
    const msg = e instanceof ApiError && e.code === 'APPROVAL_ALREADY_RESOLVED' ? 'Already answered elsewhere.' : errorText(e);
    answerErrors.value = set(answerErrors.value, approval.id, msg);
    if (e instanceof ApiError && e.status === 409) pendingApprovals.value = set(pendingApprovals.value, approval.id, undefined);
    return false;
  } finally {
    answering.value = set(answering.value, approval.id, undefined);
  }
}
