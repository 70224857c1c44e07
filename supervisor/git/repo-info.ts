import { realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { gitAt } from './git-client.ts';
import { invalid } from '../../machines/app-error.ts';

export interface RepoInfo {
  /** The real path of the working tree's top. */
  path: string;
  /** The real path of the directory given (inside `path`). */
  given: string;
  name: string;
  defaultBranch: string;
}

/** Checks that `path` is the top of a git working tree and describes it. */
export async function inspectRepo(path: string): Promise<RepoInfo> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isDirectory()) throw invalid('REPO_NOT_FOUND', `${path} is not a directory`, 'path');
  const real = await realpath(path);
  const git = gitAt(real);
  const top = await git.raw(['rev-parse', '--show-toplevel']).then((s) => s.trim()).catch(() => '');
  if (!top) throw invalid('NOT_A_GIT_REPO', `${path} is not a git repository`, 'path');
  const topReal = await realpath(top);
  const bare = (await git.raw(['rev-parse', '--is-bare-repository'])).trim() === 'true';
  if (bare) throw invalid('NOT_A_GIT_REPO', `${path} is a bare repository; register a working tree`, 'path');
  return { path: topReal, given: real, name: basename(topReal), defaultBranch: await currentBranch(topReal) };
}

/** The branch checked out in the user's working tree (or `HEAD` when detached). */
export async function currentBranch(repoPath: string): Promise<string> {
  const out = await gitAt(repoPath).raw(['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '');
  return out.trim() || 'HEAD';
}
