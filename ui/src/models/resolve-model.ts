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
  readonly unsupported = signal(false);

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
      batch(() => {
        this.result.value = r;
        if (r.conflictFiles?.length) this.conflicts.value = r.conflictFiles;
      });
    } catch (e) {
      batch(() => {
        if (e instanceof ApiError && e.code === 'MERGE_CONFLICT') {
          const files = e.details?.['conflictFiles'] ?? e.details?.['files'];
          this.conflicts.value = Array.isArray(files) ? files.map(String) : [];
          const prompt = e.details?.['agentPrompt'];
          this.agentPrompt.value = typeof prompt === 'string' ? prompt : null;
          this.error.value = e.message;
        } else if (e instanceof ApiError && e.code === 'NOT_FOUND') {
          this.unsupported.value = true;
          this.error.value = 'This server cannot resolve jobs yet.';
        } else this.error.value = errorText(e);
      });
    } finally {
      this.busy.value = null;
    }
  }
}

/** The follow-up that asks the agent to resolve merge conflicts itself. */
export function conflictPrompt(baseRef: string, files: readonly string[]): string {
  const list = files.length ? files.map((f) => `- ${f}`).join('\n') : '(the server did not list them)';
  return `Merging this branch into ${baseRef} conflicts in these files:\n${list}\n\nMerge ${baseRef} into this branch, resolve every conflict keeping both sides' intent, make sure the project still builds and its tests pass, and commit the result.`;
}
