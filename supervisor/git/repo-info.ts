import { realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { gitOut } from './git-exec.ts';
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
  const top = await gitOut(real, ['rev-parse', '--show-toplevel']).catch(() => '');
  if (!top) throw invalid('NOT_A_GIT_REPO', `${path} is not a git repository`, 'path');
  const topReal = await realpath(top);
  const bare = (await gitOut(real, ['rev-parse', '--is-bare-repository'])) === 'true';
  if (bare) throw invalid('NOT_A_GIT_REPO', `${path} is a bare repository; register a working tree`, 'path');
  return { path: topReal, given: real, name: basename(topReal), defaultBranch: await currentBranch(topReal) };
}

/** The branch checked out in the user's working tree (or `HEAD` when detached). */
export async function currentBranch(repoPath: string): Promise<string> {
  return (await gitOut(repoPath, ['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '')) || 'HEAD';
}
