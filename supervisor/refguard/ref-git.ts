import { runGit, type GitResult } from '../git/git-exec.ts';

/**
 * The git the ref guard runs: the server's one hardened runner (hooks off,
 * fsmonitor off, `GIT_*` dropped; machines/git-invocation.ts). It matters
 * here: the guard runs git in a repository an agent may have written to, right
 * after that agent's turn, and `update-ref` runs the `reference-transaction`
 * hook. Every exit code is an answer here (the caller decides what it means).
 */
export type RefGitResult = GitResult;

const ALL_CODES = Array.from({ length: 256 }, (_, i) => i);

export function refGit(cwd: string, args: readonly string[], timeoutMs = 30_000, input?: string): Promise<RefGitResult> {
  return runGit(cwd, args, { okCodes: ALL_CODES, timeoutMs, ...(input !== undefined ? { input } : {}) });
}
