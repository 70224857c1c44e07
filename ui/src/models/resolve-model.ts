import { batch, signal } from '@preact/signals';
import { ApiError, api, errorText } from '../api.ts';
import type { ResolveAction, ResolveResult } from '../types.ts';

/** Merge / create PR / discard for a job in review, with conflicts kept for display. */
export class ResolveModel {
  readonly busy = signal<ResolveAction | null>(null);
  readonly result = signal<ResolveResult | null>(null);
  readonly conflicts = signal<string[] | null>(null);
  /** The follow-up the server suggests for resolving the conflicts with the agent. */
  readonly agentPrompt = signal<string | null>(null);
  readonly error = signal<string | null>(null);

  constructor(private readonly jobId: string) {}

  async run(action: ResolveAction): Promise<void> {
    if (this.busy.value) return;
    batch(() => {
      this.busy.value = action;
      this.error.value = null;
      this.conflicts.value = null;
    });
    try {
      const r = await api.resolve(this.jobId, action);
      this.result.value = r;
    } catch (e) {
      batch(() => {
        if (e instanceof ApiError && e.code === 'MERGE_CONFLICT') {
          const files = e.details?.['conflictFiles'] ?? e.details?.['files'];
          this.conflicts.value = Array.isArray(files) ? files.map(String) : [];
          const prompt = e.details?.['agentPrompt'];
          this.agentPrompt.value = typeof prompt === 'string' ? prompt : null;
          this.error.value = e.message;
        } else this.error.value = errorText(e);
      });
    } finally {
      this.busy.value = null;
    }
  }
}
