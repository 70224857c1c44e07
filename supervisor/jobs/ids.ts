import { randomBytes } from 'node:crypto';

/** Sortable, short ids: base36 time then randomness (short enough for socket paths and branch names). */
export function newId(prefix: string): string {
  const time = Date.now().toString(36).padStart(9, '0');
  const rand = randomBytes(5).readUIntBE(0, 5).toString(36).padStart(8, '0');
  return `${prefix}${time}${rand}`;
}

export const titleFromPrompt = (prompt: string): string => {
  const line = prompt.trim().split('\n')[0]?.trim() ?? '';
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
};

/** `codeplane/<words-of-the-title>-<id tail>`: readable in `git branch`, unique per job. */
export function defaultBranchFor(title: string, jobId: string): string {
  const slug = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return `codeplane/${slug || 'job'}-${jobId.slice(-6)}`;
}
