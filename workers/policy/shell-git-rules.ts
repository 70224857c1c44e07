import type { Arg } from './shell-commands.ts';
import { hasFlag, positionals } from './shell-commands.ts';

/**
 * The git gate table. Hard gates (ask even in full_auto) are the git
 * operations whose damage a review of the job's diff would not show or could
 * not undo:
 *  - remote-changing: push; pull (also merges); fetch into a local branch
 *    (`a:b` refspec, `--refmap`, `--update-head-ok`); remote add/set-url/remove…;
 *    send-email;
 *  - history-rewriting or moving the branch: reset (--hard/--keep/--merge/
 *    --soft, or to a commit), rebase, merge, cherry-pick, commit --amend,
 *    filter-branch/filter-repo, replace, update-ref, symbolic-ref (set),
 *    reflog expire/delete, gc --prune, prune, bisect;
 *  - deleting refs or work that is not in the diff: branch -d/-D/-f/-m/-M/-C,
 *    tag -d/-f, clean -f, stash drop/clear/pop (the stash is shared by every
 *    worktree of the repository), checkout / switch (both discard changes or
 *    move the worktree off the job's branch, which is the unit of review),
 *    restore (of the working tree), notes changes (refs/notes is shared);
 *  - the shared repository: worktree add/remove/move/prune (the supervisor
 *    owns worktrees), config writes and branch upstream settings (aliases,
 *    hooks paths, remotes apply to every worktree and the user's own
 *    checkout), credential (secrets), submodule foreach and hook run (run
 *    arbitrary commands), maintenance start/register (schedules jobs);
 *  - any subcommand this table does not know: it may be an alias for one of the above.
 * Not gated, on purpose: commit, add, rm, mv, revert (adds a commit, undoable),
 * fetch without a local refspec (only updates remote-tracking refs), stash
 * push/apply, branch/tag creation, restore --staged.
 */
export const READ_ONLY_SUBS = new Set([
  'status', 'log', 'diff', 'show', 'blame', 'annotate', 'rev-parse', 'ls-files', 'ls-tree', 'ls-remote', 'cat-file',
  'describe', 'shortlog', 'merge-base', 'name-rev', 'rev-list', 'show-ref', 'for-each-ref', 'check-ignore', 'check-attr',
  'check-ref-format', 'count-objects', 'var', 'version', 'help', 'whatchanged', 'range-diff', 'cherry', 'diff-tree',
  'diff-files', 'diff-index', 'verify-commit', 'verify-tag', 'fsck', 'show-branch', 'grep', 'archive',
]);
/** Known to change the worktree or the job's branch in ordinary, reviewable ways. */
const ORDINARY = new Set([
  'add', 'rm', 'mv', 'commit', 'init', 'clone', 'apply', 'am', 'format-patch', 'revert', 'stage', 'fetch', 'notes',
  'submodule', 'sparse-checkout', 'lfs', 'maintenance', 'gc', 'repack', 'pack-refs', 'mergetool', 'difftool', 'bundle',
  'rerere', 'update-index', 'read-tree', 'write-tree', 'commit-tree', 'hash-object', 'mktag', 'mktree', 'request-pull',
  'stash', 'branch', 'tag', 'restore', 'clean', 'reflog', 'remote', 'config', 'symbolic-ref', 'replace', 'worktree', 'reset',
]);
const FIXED_GATES: Record<string, string> = {
  push: 'pushes to a remote',
  pull: 'pulls: fetches remote history and merges or rebases it into the branch',
  rebase: 'rewrites the branch history (rebase)',
  merge: 'merges other history into the branch',
  'cherry-pick': 'applies commits from other history onto the branch (cherry-pick)',
  'filter-branch': 'rewrites the repository history',
  'filter-repo': 'rewrites the repository history',
  'update-ref': 'rewrites a ref directly',
  prune: 'deletes unreachable objects (prune)',
  switch: "moves the worktree off the job's branch (switch)",
  'send-email': 'sends commits by email',
  bisect: "checks out other commits, moving the worktree off the job's branch (bisect)",
  credential: 'reads or changes stored credentials',
};

type Rule = { gate?: string; readOnly: boolean };

export function gitRules(sub: string, rest: readonly Arg[]): Rule {
  const fixed = FIXED_GATES[sub];
  if (fixed !== undefined || sub.startsWith('credential-')) return { gate: fixed ?? FIXED_GATES.credential, readOnly: false };
  const pos = positionals(rest);
  const flag = (longs: string[], shorts = ''): boolean => hasFlag(rest, longs, shorts);
  switch (sub) {
    case 'reset': {
      if (flag(['--hard'])) return { gate: 'discards uncommitted changes (reset --hard)', readOnly: false };
      if (flag(['--keep', '--merge', '--soft'])) return { gate: 'moves the branch to another commit (reset)', readOnly: false };
      const target = beforeDoubleDash(rest)[0];
      if (target !== undefined && target !== 'HEAD' && target !== '@' && !flag(['--patch'], 'p'))
        return { gate: `moves the branch to ${target} or discards changes (reset)`, readOnly: false };
      return { readOnly: false };
    }
    case 'commit':
      return flag(['--amend']) ? { gate: 'rewrites the last commit (commit --amend)', readOnly: false } : { readOnly: false };
    case 'fetch':
      // A refspec with a destination (`main:main`, `+HEAD:refs/heads/x`) writes a local ref; so can --refmap.
      if (pos.slice(1).some((p) => p.includes(':') && !p.includes('//')) || flag(['--refmap', '--update-head-ok'], 'u'))
        return { gate: 'fetches into a local branch (refspec with :)', readOnly: false };
      return { readOnly: false };
    case 'branch':
      if (flag(['--delete'], 'dD')) return { gate: 'deletes a branch', readOnly: false };
      if (flag(['--move'], 'mM')) return { gate: 'renames a branch', readOnly: false };
      if (flag(['--force', '--copy'], 'fcC')) return { gate: 'overwrites or copies a branch', readOnly: false };
      if (flag(['--set-upstream-to', '--unset-upstream', '--edit-description', '--track'], 'ut'))
        return { gate: "changes a branch's configuration, shared by every worktree", readOnly: false };
      return { readOnly: flag(['--list'], 'l') || positionalsSkipping(rest, BRANCH_VALUE_OPTS).length === 0 };
    case 'tag':
      if (flag(['--delete'], 'd')) return { gate: 'deletes a tag', readOnly: false };
      if (flag(['--force'], 'f')) return { gate: 'moves an existing tag', readOnly: false };
      return { readOnly: (flag(['--list'], 'ln') || pos.length === 0) && !flag(['--annotate', '--sign', '--message', '--file'], 'asmF') };
    case 'clean':
      if (flag(['--dry-run'], 'n')) return { readOnly: true };
      return flag(['--force'], 'f') ? { gate: 'deletes untracked files (clean -f)', readOnly: false } : { readOnly: false };
    case 'checkout':
      if (rest.some((a) => a.text === '--' || a.text === '.') || flag(['--force', '--patch'], 'fp'))
        return { gate: 'discards uncommitted changes (checkout of paths)', readOnly: false };
      if (flag(['--orphan'], 'bB')) return { gate: "switches the worktree to another branch, off the job's branch", readOnly: false };
      return { gate: "switches the worktree off the job's branch or overwrites files (checkout)", readOnly: false };
    case 'restore':
      return flag(['--staged'], 'S') && !flag(['--worktree'], 'W') ? { readOnly: false } : { gate: 'discards uncommitted changes (restore)', readOnly: false };
    case 'stash': {
      const s = pos[0];
      if (s === 'list' || s === 'show') return { readOnly: true };
      if (s === 'drop' || s === 'clear' || s === 'pop')
        return { gate: `removes stashed changes, shared by every worktree of the repository (stash ${s})`, readOnly: false };
      return { readOnly: false };
    }
    case 'reflog':
      if (pos[0] === 'expire' || pos[0] === 'delete') return { gate: 'deletes reflog entries, the undo history (reflog)', readOnly: false };
      return { readOnly: true }; // show (the default), list, exists
    case 'gc':
      return rest.some((a) => a.text.startsWith('--prune')) ? { gate: 'deletes unreachable objects (gc --prune)', readOnly: false } : { readOnly: false };
    case 'worktree':
      return pos[0] === 'list' ? { readOnly: true } : { gate: "changes the repository's worktrees, which CodePlane manages", readOnly: false };
    case 'remote':
      return pos.length === 0 || pos[0] === 'show' || pos[0] === 'get-url' ? { readOnly: true } : { gate: "changes the repository's remotes", readOnly: false };
    case 'config': {
      const reads = flag(['--get', '--get-all', '--get-regexp', '--get-urlmatch', '--list', '--get-color', '--get-colorbool'], 'l');
      const writes = flag(['--unset', '--unset-all', '--add', '--replace-all', '--rename-section', '--remove-section', '--edit'], 'e');
      if (!writes && (reads || pos[0] === 'get' || pos[0] === 'list' || pos.length === 1)) return { readOnly: true };
      return { gate: 'changes git configuration shared by every worktree (aliases, hooks, remotes)', readOnly: false };
    }
    case 'symbolic-ref':
      return pos.length <= 1 && !flag(['--delete'], 'd') ? { readOnly: true } : { gate: 'repoints a symbolic ref such as HEAD', readOnly: false };
    case 'replace':
      return pos.length === 0 || flag(['--list'], 'l') ? { readOnly: true } : { gate: 'replaces objects, rewriting history (replace)', readOnly: false };
    case 'submodule':
      if (pos[0] === 'foreach') return { gate: 'runs a command in every submodule (submodule foreach)', readOnly: false };
      return { readOnly: pos[0] === 'status' || pos[0] === 'summary' };
    case 'notes':
      if (pos[0] === undefined || pos[0] === 'list' || pos[0] === 'show' || pos[0] === 'get-ref') return { readOnly: true };
      return { gate: 'changes notes, refs shared by every worktree of the repository (notes)', readOnly: false };
    case 'hook':
      return { gate: 'runs a repository hook (hook run)', readOnly: false };
    case 'maintenance':
      return ['start', 'register', 'unregister', 'stop'].includes(pos[0] ?? '')
        ? { gate: 'schedules or changes background maintenance of the repository (maintenance)', readOnly: false }
        : { readOnly: false };
    case 'lfs':
      return pos[0] === 'install' || pos[0] === 'uninstall' ? { gate: 'changes git configuration and hooks (lfs install)', readOnly: false } : { readOnly: false };
  }
  if (READ_ONLY_SUBS.has(sub)) return { readOnly: true };
  if (ORDINARY.has(sub)) return { readOnly: false };
  if (sub === '--version' || sub === '--help' || sub === '-h') return { readOnly: true };
  return { gate: `uses "${sub}", which is not a git command this policy knows (it may be an alias)`, readOnly: false };
}

/**
 * `git -c key=value`: a configuration override can name a program (core.pager,
 * core.sshCommand, core.fsmonitor, diff.external, alias.*…). Only display
 * settings with plain values pass; anything else is not judged (the reason).
 */
const DISPLAY_KEYS = /^(color\.[a-z.]+|core\.quotepath|core\.abbrev|diff\.noprefix|diff\.mnemonicprefix|diff\.renames|log\.decorate|log\.abbrevcommit|column\.ui|advice\.[a-z]+|i18n\.logoutputencoding)$/;
export function gitConfigOverride(kv: Arg): string | undefined {
  if (kv.unknown) return `overrides git configuration with a value only known when it runs (${kv.unknown})`;
  const eq = kv.text.indexOf('=');
  const key = (eq < 0 ? kv.text : kv.text.slice(0, eq)).toLowerCase();
  const value = eq < 0 ? '' : kv.text.slice(eq + 1);
  if (DISPLAY_KEYS.test(key) && /^[A-Za-z0-9_. -]*$/.test(value)) return undefined;
  return `overrides git configuration (-c ${key}), which can name a program git runs`;
}

const BRANCH_VALUE_OPTS = new Set(['--contains', '--no-contains', '--merged', '--no-merged', '--points-at', '--sort', '--format', '--color']);

function beforeDoubleDash(rest: readonly Arg[]): string[] {
  const out: string[] = [];
  for (const a of rest) {
    if (a.text === '--') break;
    if (!a.text.startsWith('-')) out.push(a.text);
  }
  return out;
}

function positionalsSkipping(rest: readonly Arg[], valueOpts: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const t = rest[i]?.text ?? '';
    if (valueOpts.has(t)) i++;
    else if (!t.startsWith('-')) out.push(t);
  }
  return out;
}
