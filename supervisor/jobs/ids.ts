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

/**
 * `codeplane/<id tail>/<words-of-the-title>`: readable in `git branch`, unique per job, and the
 * job's ref lives in a directory of its own (`refs/heads/codeplane/<id tail>/`): the sandbox
 * makes that directory writable (git writes a ref through a lock file beside it), and no other ref.
 */
export function defaultBranchFor(title: string, jobId: string): string {
  const slug = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return `codeplane/${jobId.slice(-6)}/${slug || 'job'}`;
}
