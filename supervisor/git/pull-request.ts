import { spawn } from 'node:child_process';
import { AppError, conflict } from '../../machines/app-error.ts';
import { toolEnvForGit } from '../../machines/git-invocation.ts';
import { commitPendingChanges } from './commit-changes.ts';
import { GitCommandError, gitOut, runGit, scanDrivers, spawnGitHere, tail } from './git-exec.ts';
import { shortBranch } from './worktree-list.ts';

/**
 * "Create PR": commit what the agent left uncommitted, push the job branch,
 * and open the pull request with the GitHub CLI.
 *
 * WHY `gh` and not the REST API: the user's `gh auth login` already holds a
 * token with the right scopes (and SSO/enterprise hosts); CodePlane never
 * stores or sees a GitHub credential. `gh` is probed BEFORE pushing so a
 * missing CLI fails without side effects. Nothing here prompts: git's
 * credential prompt and gh's interactive mode are both disabled, so a missing
 * credential is an error with a hint, never a hung request.
 */
export interface CreatePullRequestInput {
  repoPath: string;
  worktreePath: string;
  branch: string;
  baseRef: string;
  title: string;
  prompt: string;
  /** The agent's final summary, if any. */
  summary?: string;
  /** Default: `origin`, else the only remote. */
  remote?: string;
  /** Default: `gh` on PATH. */
  ghPath?: string;
  /** Extra variables for gh (tests drive the fake gh with them). */
  env?: Record<string, string>;
}

export interface PullRequestResult {
  resolution: 'pr_created';
  prUrl: string;
  remote: string;
  /** The job branch commit that was pushed. */
  commit: string;
  /** True when gh reported that a PR for this branch already existed (its URL is returned). */
  existing: boolean;
}

const MAX_BODY = 60_000; // GitHub rejects bodies over 65,536 characters
const PR_URL = /https?:\/\/\S+\/pull\/\d+/g;

const unavailable = (code: string, message: string, hint: string, details: Record<string, unknown> = {}) =>
  new AppError('unavailable', code, `${message}. ${hint}`, { details: { hint, ...details } });

export async function createPullRequest(input: CreatePullRequestInput): Promise<PullRequestResult> {
  const gh = input.ghPath ?? 'gh';
  // gh runs git itself (`git status`, `git remote`, ...): its environment carries the same
  // hardening as the server's own git (machines/git-invocation.ts), as GIT_CONFIG_* variables.
  const env = toolEnvForGit(process.env, { GH_PROMPT_DISABLED: '1', GH_NO_UPDATE_NOTIFIER: '1', NO_COLOR: '1', ...input.env }, await scanDrivers(spawnGitHere, input.repoPath));
  const remote = await pickRemote(input.repoPath, input.remote);
  const probe = await run(gh, ['--version'], input.repoPath, env);
  if (probe === 'missing') throw unavailable('GH_NOT_FOUND', `the GitHub CLI (${gh}) was not found`, 'Install it from https://cli.github.com and run `gh auth login`');

  const branch = shortBranch(input.branch);
  const base = baseBranchName(input.baseRef, remote);
  const { head } = await commitPendingChanges(input.repoPath, input.worktreePath, input.title);
  try {
    await runGit(input.repoPath, ['push', '--porcelain', remote, `refs/heads/${branch}:refs/heads/${branch}`], { timeoutMs: 300_000 });
  } catch (e) {
    if (!(e instanceof GitCommandError)) throw e;
    throw conflict('PUSH_FAILED', `pushing "${branch}" to ${remote} failed: ${tail(e.result.stderr, 1000)}`, { remote, branch });
  }

  const body = prBody(input.prompt, input.summary);
  const r = await run(gh, ['pr', 'create', '--head', branch, '--base', base, '--title', input.title, '--body', body], input.repoPath, env);
  if (r === 'missing') throw unavailable('GH_NOT_FOUND', `the GitHub CLI (${gh}) was not found`, 'Install it from https://cli.github.com and run `gh auth login`');
  const urls = `${r.stdout}\n${r.stderr}`.match(PR_URL) ?? [];
  const found = urls[urls.length - 1];
  if (r.code === 0 && found) return { resolution: 'pr_created', prUrl: found, remote, commit: head, existing: false };
  if (r.code !== 0 && found && /already exists/i.test(r.stderr)) return { resolution: 'pr_created', prUrl: found, remote, commit: head, existing: true };
  if (r.code !== 0 && /auth/i.test(r.stderr))
    throw unavailable('GH_NOT_AUTHENTICATED', 'the GitHub CLI is not logged in', 'Run `gh auth login` (or set GH_TOKEN) and try again', { stderr: tail(r.stderr, 1000) });
  throw unavailable('GH_FAILED', `gh pr create failed (exit ${r.code})`, 'See the output for the reason', { stderr: tail(r.stderr || r.stdout, 1000) });
}

/** `origin` if present, else the only remote; none → NO_REMOTE; several → AMBIGUOUS_REMOTE. */
export async function pickRemote(repoPath: string, wanted?: string): Promise<string> {
  const remotes = (await gitOut(repoPath, ['remote'])).split('\n').filter(Boolean);
  if (wanted) {
    if (remotes.includes(wanted)) return wanted;
    throw conflict('NO_REMOTE', `the repository has no remote named "${wanted}"`, { hint: `git remote add ${wanted} <url>`, remotes });
  }
  if (remotes.includes('origin')) return 'origin';
  if (remotes.length === 1) return remotes[0]!;
  if (remotes.length === 0)
    throw conflict('NO_REMOTE', 'the repository has no remote to push the branch to', { hint: 'Add one with `git remote add origin <url>` (e.g. a GitHub repository), then try again' });
  throw conflict('AMBIGUOUS_REMOTE', `the repository has several remotes and none is "origin": ${remotes.join(', ')}`, { hint: 'Name one "origin"', remotes });
}

/** `refs/heads/main` / `origin/main` → `main`: gh wants the branch name on the remote. */
function baseBranchName(baseRef: string, remote: string): string {
  const short = shortBranch(baseRef).replace(/^refs\/remotes\//, '');
  return short.startsWith(`${remote}/`) ? short.slice(remote.length + 1) : short;
}

export function prBody(prompt: string, summary?: string): string {
  const parts = ['## Task', '', prompt.trim()];
  if (summary?.trim()) parts.push('', '## Summary', '', summary.trim());
  parts.push('', '---', '_Created with CodePlane._');
  const body = parts.join('\n');
  return body.length <= MAX_BODY ? body : `${body.slice(0, MAX_BODY)}\n\n…(truncated)`;
}

type RunResult = { code: number; stdout: string; stderr: string } | 'missing';

function run(cmd: string, args: string[], cwd: string, env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'EACCES') resolve('missing');
      else reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}
