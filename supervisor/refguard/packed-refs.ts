import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The repository's `packed-refs` file, kept with the baseline so it can be put
 * back when git can no longer read it. WHY: one garbage line in it makes every
 * git command in the repository fail (`fatal: unexpected line in
 * .git/packed-refs`), which both breaks the user's repository and would blind
 * the guard; git never writes such a file itself, so an unreadable one is put
 * back as it was before the turn.
 */
const MAX_KEPT = 16 * 1024 * 1024;

/** Its content, '' when there is none, undefined when it is too large to keep. */
export async function readPackedRefs(commonDir: string): Promise<string | undefined> {
  const file = join(commonDir, 'packed-refs');
  const st = await stat(file).catch(() => undefined);
  if (!st) return '';
  if (st.size > MAX_KEPT) return undefined;
  return readFile(file, 'utf8');
}

/** True when git's own failure message says packed-refs is what it could not read. */
export const packedRefsUnreadable = (gitMessage: string): boolean => /packed-refs/.test(gitMessage);

/**
 * Writes `content` back as packed-refs (removes the file for ''), under git's
 * `packed-refs.lock`, only if the file still holds `seen`. Undefined when done, else why not.
 */
export async function putBackPackedRefs(commonDir: string, content: string, seen: string): Promise<string | undefined> {
  const file = join(commonDir, 'packed-refs');
  const lock = `${file}.lock`;
  let fh;
  try {
    fh = await open(lock, 'wx', 0o644);
  } catch (e) {
    return `packed-refs is locked by another git command (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  let renamed = false;
  try {
    if ((await readFile(file, 'utf8').catch(() => '')) !== seen) return 'it changed again since the check';
    if (content === '') {
      await rm(file, { force: true });
      return undefined;
    }
    await fh.writeFile(content);
    await fh.close();
    fh = undefined;
    await rename(lock, file);
    renamed = true;
    return undefined;
  } finally {
    await fh?.close();
    if (!renamed) await rm(lock, { force: true });
  }
}
