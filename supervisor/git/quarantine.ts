/**
 * Where start-up hygiene puts a worktree it cannot account for, instead of
 * deleting it: `$CODEPLANE_HOME/quarantine/<stamp>-<name>/worktree`, with
 * `quarantine.json` beside it saying where it was, which repository and
 * branch, and how to get it back. A worktree nobody can place may be the only
 * copy of an agent's uncommitted work (the database that knew it was lost),
 * so only the user decides to delete it (`cpl doctor` lists the quarantine).
 *
 * Moved, never copied-then-deleted: a registered worktree goes with
 * `git worktree move` (git keeps knowing it, its branch stays checked out
 * there); a directory git never heard of is renamed. Across filesystems (a
 * worktreesDir elsewhere) nothing moves: the worktree stays where it is and
 * is reported as left in place.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rmdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runGit } from './git-exec.ts';

export interface QuarantineRecord {
  /** Where the worktree was. */
  from: string;
  /** Where it is now (`<entry>/worktree`). */
  to: string;
  repo: string;
  /** The branch it had checked out, when known. */
  branch?: string;
  quarantinedAt: string;
  reason: string;
  recover: string;
}

export type QuarantineOutcome = { moved: QuarantineRecord } | { left: { path: string; reason: string } };

export async function quarantineWorktree(o: { repoPath: string; path: string; registered: boolean; branch?: string; quarantineRoot: string; reason: string }): Promise<QuarantineOutcome> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const entry = join(o.quarantineRoot, `${stamp}-${basename(o.path)}`);
  const to = join(entry, 'worktree');
  const branch = o.branch ?? (await currentBranch(o.path));
  const record: QuarantineRecord = {
    from: o.path,
    to,
    repo: o.repoPath,
    ...(branch ? { branch } : {}),
    quarantinedAt: new Date().toISOString(),
    reason: o.reason,
    recover: branch
      ? `the files (uncommitted changes included) are in ${to}, a worktree of ${o.repoPath} on branch ${branch}: cd there and commit, or copy what you need; delete the directory when done (then \`git -C ${o.repoPath} worktree prune\`)`
      : `the files are in ${to}: copy what you need, then delete the directory`,
  };
  try {
    await mkdir(entry, { recursive: true, mode: 0o700 });
  } catch (e) {
    return { left: { path: o.path, reason: `cannot create ${entry}: ${message(e)}` } };
  }
  const moved = await move(o, to);
  if (moved !== true) {
    await rmdir(entry).catch(() => undefined); // empty: nothing was moved into it
    return { left: { path: o.path, reason: moved } };
  }
  // The record is a courtesy (doctor still lists an entry without one): a full disk must not undo the move.
  await writeFile(join(entry, 'quarantine.json'), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 }).catch(() => undefined);
  return { moved: record };
}

/** true, or why it could not be moved. */
async function move(o: { repoPath: string; path: string; registered: boolean }, to: string): Promise<true | string> {
  if (o.registered) {
    const r = await runGit(o.repoPath, ['worktree', 'move', o.path, to], { okCodes: [0, 128] }).catch((e: unknown) => ({ code: -1, stderr: message(e) }));
    if (r.code === 0) return true;
  }
  try {
    await rename(o.path, to);
  } catch (e) {
    return `could not move it to ${to}: ${message(e)}`;
  }
  // A registered worktree moved by hand: tell git where it went (both directions), so prune keeps it.
  if (o.registered) await runGit(o.repoPath, ['worktree', 'repair', to], { okCodes: [0, 128] }).catch(() => undefined);
  return true;
}

async function currentBranch(path: string): Promise<string | undefined> {
  const r = await runGit(path, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { okCodes: [0, 1, 128] }).catch(() => undefined);
  const name = r?.code === 0 ? r.stdout.trim() : '';
  return name || undefined;
}

/** One quarantine entry as `cpl doctor` shows it (the record when it is readable). */
export interface QuarantineEntry {
  dir: string;
  record?: QuarantineRecord;
}

export function listQuarantine(quarantineRoot: string): QuarantineEntry[] {
  if (!existsSync(quarantineRoot)) return [];
  return readdirSync(quarantineRoot, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => {
      const dir = join(quarantineRoot, d.name);
      try {
        const v = JSON.parse(readFileSync(join(dir, 'quarantine.json'), 'utf8')) as unknown;
        return isRecord(v) ? { dir, record: v } : { dir };
      } catch {
        return { dir };
      }
    })
    .sort((a, b) => a.dir.localeCompare(b.dir));
}

function isRecord(v: unknown): v is QuarantineRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return ['from', 'to', 'repo', 'quarantinedAt', 'reason', 'recover'].every((k) => typeof r[k] === 'string') && (r['branch'] === undefined || typeof r['branch'] === 'string');
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
