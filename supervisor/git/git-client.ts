import { simpleGit, type SimpleGit } from 'simple-git';

/**
 * simple-git for `baseDir`, settling only once git's output streams have closed. Its default
 * also settles 50 ms after the process exits, and on a loaded machine git's stdout may not
 * have been read by then: a ref that exists came back empty ("does not exist", "is not a valid
 * branch name"), seen in bench/ as spurious 400s on POST /api/jobs (steveukx/git-js#608).
 */
export function gitAt(baseDir: string): SimpleGit {
  return simpleGit({ baseDir, completion: { onClose: true, onExit: false } });
}
