import { lstat, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import type { RefChange } from './ref-compare.ts';
import { refGit } from './ref-git.ts';
import { BROKEN, REPO_HEAD, WORKTREE_HEAD, headValue, type RefPlaces } from './ref-snapshot.ts';

/** What became of one change. */
export type RestoreOutcome =
  | { change: RefChange; undone: true }
  /** Not undone: `reason` says why (it changed again since the check, or git refused). */
  | { change: RefChange; undone: false; reason: string };

/**
 * Undoes each change, compare-and-swap against the value seen after the turn.
 *
 * WHY compare-and-swap against the *after* value: between the check and the
 * undo, the user (in their own checkout) or CodePlane itself may legitimately
 * move a ref again. Undoing then would clobber that newer, legitimate value;
 * so a ref that no longer holds what the check saw is left alone and the
 * alarm says so. Refs go through `git update-ref <ref> <new> <old>` (git's
 * own atomic check under the ref's lock); the HEAD files are rewritten under
 * git's own `HEAD.lock` protocol after checking they still hold that value.
 */
export async function restoreRefs(p: RefPlaces, changes: readonly RefChange[]): Promise<RestoreOutcome[]> {
  // Plain refs first, all in one git transaction (an agent that made 100,000 tags is undone by
  // one process, not 100,000); if any of them moved again since the check, the transaction
  // changes nothing and each is retried on its own below, so the others are still undone.
  const plain = changes.filter(isPlain);
  const batched = plain.length > 1 && (await undoTogether(p, plain));
  const out: RestoreOutcome[] = batched ? plain.map((change) => ({ change, undone: true as const })) : [];
  for (const change of batched ? changes.filter((c) => !isPlain(c)) : changes) {
    try {
      const failed = await undo(p, change);
      out.push(failed === undefined ? { change, undone: true } : { change, undone: false, reason: failed });
    } catch (e) {
      out.push({ change, undone: false, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  // In the order of `changes` (sorted by name), whichever way each was undone.
  return out.sort((a, b) => changes.indexOf(a.change) - changes.indexOf(b.change));
}

/** A ref under refs/ whose values are object ids (no HEAD, no symbolic or unreadable value). */
function isPlain(c: RefChange): boolean {
  if (!c.ref.startsWith('refs/')) return false;
  return [before(c), after(c)].every((v) => v === undefined || OID.test(v));
}
const OID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** One `git update-ref --stdin` transaction undoing every change, each against its after-turn value; true when git applied it. */
async function undoTogether(p: RefPlaces, changes: readonly RefChange[]): Promise<boolean> {
  const lines = changes.map((c) =>
    c.kind === 'created' ? `delete ${c.ref}\0${c.after}\0` : c.kind === 'deleted' ? `create ${c.ref}\0${c.before}\0` : `update ${c.ref}\0${c.before}\0${c.after}\0`);
  const r = await refGit(p.worktreePath, ['update-ref', '-m', 'CodePlane ref guard: undo', '-z', '--stdin'], 120_000, lines.join(''));
  return r.code === 0;
}

const before = (c: RefChange): string | undefined => (c.kind === 'created' ? undefined : c.before);
const after = (c: RefChange): string | undefined => (c.kind === 'deleted' ? undefined : c.after);
const isSym = (v: string | undefined): v is string => v !== undefined && v.startsWith('ref: ');

/** Undefined when undone, else why not. */
async function undo(p: RefPlaces, c: RefChange): Promise<string | undefined> {
  if (c.ref === REPO_HEAD) return rewriteHead(p.repoGitDir, before(c), after(c));
  if (c.ref === WORKTREE_HEAD) return rewriteHead(p.worktreeGitDir, before(c), after(c));
  if (!c.ref.startsWith('refs/')) return `not a ref the guard restores: ${c.ref}`;
  const was = before(c);
  let now = after(c);
  if (now === BROKEN) {
    // git cannot lock a ref whose file holds garbage: remove that file (only if it still does), then restore through git.
    const gone = await removeBrokenLooseRef(p.commonDir, c.ref);
    if (gone) return gone;
    now = await currentValue(p, c.ref);
    if (now === was) return undefined;
  }
  if (was === BROKEN) return 'it was already unreadable before the turn';
  if (isSym(was) || isSym(now)) return undoSymbolic(p, c.ref, was, now);
  const expected = now ?? '';
  const r = was === undefined || was === BROKEN
    ? await refGit(p.worktreePath, ['update-ref', '-m', 'CodePlane ref guard: undo', '-d', c.ref, expected])
    : await refGit(p.worktreePath, ['update-ref', '-m', 'CodePlane ref guard: undo', c.ref, was, expected]);
  return r.code === 0 ? undefined : `git refused (it changed again since the check?): ${r.stderr.trim().slice(0, 300)}`;
}

/** The ref's current value as the snapshot spells it, or undefined. */
async function currentValue(p: RefPlaces, ref: string): Promise<string | undefined> {
  const r = await refGit(p.worktreePath, ['for-each-ref', '--format=%(objectname)%00%(symref)', ref]);
  const [oid = '', sym = ''] = r.stdout.split('\n')[0]?.split('\0') ?? [];
  if (!oid) return undefined;
  return sym ? `ref: ${sym}` : oid;
}

/** A symbolic ref under refs/ (rare: `refs/remotes/origin/HEAD`): checked, then set with git. */
async function undoSymbolic(p: RefPlaces, ref: string, was: string | undefined, now: string | undefined): Promise<string | undefined> {
  if ((await currentValue(p, ref)) !== now) return 'it changed again since the check';
  if (was === undefined) {
    const r = await refGit(p.worktreePath, isSym(now) ? ['symbolic-ref', '--delete', ref] : ['update-ref', '-d', ref, now ?? '']);
    return r.code === 0 ? undefined : r.stderr.trim().slice(0, 300);
  }
  const r = isSym(was)
    ? await refGit(p.worktreePath, ['symbolic-ref', '-m', 'CodePlane ref guard: undo', ref, was.slice('ref: '.length)])
    : await refGit(p.worktreePath, ['update-ref', '--no-deref', '-m', 'CodePlane ref guard: undo', ref, was]);
  return r.code === 0 ? undefined : r.stderr.trim().slice(0, 300);
}

/** Removes `<common>/<ref>` when it is still a regular file with unreadable content; undefined when removed. */
async function removeBrokenLooseRef(commonDir: string, ref: string): Promise<string | undefined> {
  const file = join(commonDir, ref);
  const rel = relative(commonDir, file);
  if (rel.startsWith('..') || isAbsolute(rel)) return 'the ref name leaves the repository';
  const st = await lstat(file).catch(() => undefined);
  if (!st) return undefined; // gone already
  if (!st.isFile()) return 'the ref is not a plain file any more';
  if (headValue(await readFile(file, 'utf8')) !== BROKEN) return 'it changed again since the check';
  await unlink(file);
  return undefined;
}

/**
 * Puts a HEAD file back to `was` if it still holds `now`. git's own protocol:
 * `HEAD.lock` created exclusively (a git command holding it makes us back
 * off), written, renamed over HEAD.
 */
async function rewriteHead(gitDir: string, was: string | undefined, now: string | undefined): Promise<string | undefined> {
  if (was === undefined) return 'there was no HEAD before the turn';
  if (was === BROKEN) return 'HEAD was already unreadable before the turn';
  const head = join(gitDir, 'HEAD');
  const lock = `${head}.lock`;
  let fh;
  try {
    fh = await open(lock, 'wx', 0o644);
  } catch (e) {
    return `HEAD is locked by another git command (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  let renamed = false;
  try {
    const current = await readFile(head, 'utf8').then(headValue, () => undefined);
    if (current !== now) return 'it changed again since the check';
    await fh.writeFile(`${was}\n`);
    await fh.close();
    fh = undefined;
    await rename(lock, head);
    renamed = true;
    return undefined;
  } finally {
    await fh?.close();
    // Once renamed, a HEAD.lock there is another git command's: never remove it.
    if (!renamed) await rm(lock, { force: true });
  }
}
