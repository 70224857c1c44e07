import { batch, signal } from '@preact/signals';
import { api, ApiError, errorText } from '../api.ts';
import type { JobDiff } from '../types.ts';

export type DiffState = 'unknown' | 'unavailable' | 'loading' | 'ready' | 'error';
export type DiffMode = 'unified' | 'split';

const MODE_KEY = 'cpl.diffMode';
const stored = typeof localStorage !== 'undefined' ? localStorage.getItem(MODE_KEY) : null;

/** Unified or split, remembered across visits. */
export const diffMode = signal<DiffMode>(stored === 'split' ? 'split' : 'unified');
export function setDiffMode(m: DiffMode): void {
  diffMode.value = m;
  try {
    localStorage.setItem(MODE_KEY, m);
  } catch {
    /* private mode */
  }
}

/** One job's full diff. A 404 means the server has no diff endpoint (or no diff yet): the tab hides. */
export class DiffModel {
  readonly state = signal<DiffState>('unknown');
  readonly diff = signal<JobDiff | null>(null);
  readonly error = signal<string | null>(null);
  readonly loadingMore = signal(false);
  private loadedVersion = -1;

  constructor(private readonly jobId: string) {}

  /** Loads (or reloads after a diff_update) unless the given version is already loaded. */
  async load(version: number): Promise<void> {
    if (version === this.loadedVersion || this.state.value === 'loading') return;
    this.loadedVersion = version;
    if (this.state.value !== 'ready') this.state.value = 'loading';
    try {
      const d = await api.diff(this.jobId);
      batch(() => {
        this.diff.value = d;
        this.state.value = 'ready';
        this.error.value = null;
      });
    } catch (e) {
      batch(() => {
        // 404: no diff endpoint; DIFF_UNAVAILABLE: the job was resolved and its worktree is gone (keep what we showed).
        if (e instanceof ApiError && (e.status === 404 || e.code === 'DIFF_UNAVAILABLE')) this.state.value = this.diff.value ? 'ready' : 'unavailable';
        else {
          this.state.value = 'error';
          this.error.value = errorText(e);
        }
      });
    }
  }

  /** The next page of files when the server cut the diff short. */
  async loadMore(): Promise<void> {
    const d = this.diff.value;
    if (!d?.truncated || d.nextOffset === undefined || this.loadingMore.value) return;
    this.loadingMore.value = true;
    try {
      const next = await api.diff(this.jobId, d.nextOffset);
      this.diff.value = { ...next, files: [...d.files, ...next.files] };
    } catch (e) {
      this.error.value = errorText(e);
    } finally {
      this.loadingMore.value = false;
    }
  }
}
