import type { Arg } from './shell-commands.ts';
import { hasFlag, positionals } from './shell-commands.ts';

/**
 * What one `git …` invocation means for the permission policy.
 *
 * Hard gates (ask even in full_auto) are the git operations whose damage a
 * review of the job's diff would not show or could not undo:
 *  - remote-changing: push; pull (also merges); fetch into a local branch
 *    (`a:b` refspec); remote add/set-url/remove…; send-email;
 *  - history-rewriting or moving the branch: reset (--hard/--keep/--merge/
 *    --soft, or to a commit), rebase, merge, cherry-pick, commit --amend,
 *    filter-branch/filter-repo, replace, update-ref, symbolic-ref (set),
 *    reflog expire/delete, gc --prune, prune, bisect;
 *  - deleting refs or work that is not in the diff: branch -d/-D/-f/-m/-M/-C,
 *    tag -d/-f, clean -f, stash drop/clear/pop (the stash is shared by every
 *    worktree of the repository), checkout / switch (both discard changes or
 *    move the worktree off the job's branch, which is the unit of review),
 *    restore (of the working tree);
 *  - the shared repository: worktree add/remove/move/prune (the supervisor
 *    owns worktrees), config writes (aliases, hooks paths, remotes apply to
 *    every worktree and the user's own checkout), credential (secrets),
 *    submodule foreach (runs arbitrary commands).
 *  - any subcommand this table does not know: it may be an alias for one of the above.
 * Not gated, on purpose: commit, add, rm, mv, revert (adds a commit, undoable),
 * fetch without a local refspec (only updates remote-tracking refs), stash
 * push/apply, branch/tag creation, restore --staged.
 */
export interface GitVerdict {
  /** The subcommand, for messages. */
  sub: string;
  gate?: string;
  readOnly: boolean;
  /** `-C dir` options, in order (each relative to the previous). */
  chdir: Arg[];
  /** Files named by the command that must be inside the worktree. */
  paths: { arg: Arg; role: 'read' | 'write' }[];
  /** It prints file paths, one per line (feeds `xargs` safely). */
  listing: boolean;
}

const READ_ONLY = new Set([
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
/** Options whose value is free text, not a path. */
const TEXT_VALUE_OPTS = new Set(['-m', '--message', '--grep', '-S', '-G', '--author', '--committer', '--format', '--pretty', '-e', '--date', '--since', '--until', '--after', '--before']);
const OUTPUT_OPTS = new Set(['-o', '--output', '--output-directory']);

export function classifyGit(args: readonly Arg[]): GitVerdict {
  const chdir: Arg[] = [];
  const paths: GitVerdict['paths'] = [];
  let configOverride = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]?.text ?? '';
    const next = args[i + 1];
    if (a === '-C' && next) {
      chdir.push(next);
      i++;
    } else if ((a === '-c' || a === '--config-env') && next) {
      configOverride = true; // core.pager, core.sshCommand, alias.* can run programs
      i++;
    } else if ((a === '--git-dir' || a === '--work-tree') && next) {
      paths.push({ arg: next, role: 'write' });
      i++;
    } else if (a.startsWith('--git-dir=') || a.startsWith('--work-tree=')) {
      paths.push({ arg: valueArg(args[i], a), role: 'write' });
    } else if (a.startsWith('--exec-path=') || a.startsWith('--config-env=')) configOverride = true;
    else if (a === '--namespace' || a === '--super-prefix') i++;
    else if (!a.startsWith('-')) break;
  }
  const subArg = args[i];
  const rest = args.slice(i + 1);
  if (!subArg) return { sub: 'git', readOnly: !configOverride, chdir, paths, listing: false };
  const sub = subArg.text;
  const base = { sub, chdir, listing: false };
  if (subArg.unknown) return { ...base, gate: `the git subcommand is only known when it runs (${subArg.unknown})`, readOnly: false, paths };
  collectPaths(rest, paths);
  const write = paths.some((p) => p.role === 'write');
  const r = rules(sub, rest);
  const readOnly = r.readOnly && !configOverride && !write;
  const listing = readOnly && isListing(sub, rest);
  return r.gate !== undefined ? { ...base, gate: r.gate, readOnly, paths, listing } : { ...base, readOnly, paths, listing };
}

function rules(sub: string, rest: readonly Arg[]): { gate?: string; readOnly: boolean } {
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
      return pos.slice(1).some((p) => p.includes(':') && !p.includes('//'))
        ? { gate: 'fetches into a local branch (refspec with :)', readOnly: false }
        : { readOnly: false };
    case 'branch':
      if (flag(['--delete'], 'dD')) return { gate: 'deletes a branch', readOnly: false };
      if (flag(['--move'], 'mM')) return { gate: 'renames a branch', readOnly: false };
      if (flag(['--force', '--copy'], 'fcC')) return { gate: 'overwrites or copies a branch', readOnly: false };
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
      return pos[0] === 'expire' || pos[0] === 'delete' ? { gate: 'deletes reflog entries, the undo history (reflog)', readOnly: false } : { readOnly: true };
    case 'gc':
      return rest.some((a) => a.text.startsWith('--prune')) ? { gate: 'deletes unreachable objects (gc --prune)', readOnly: false } : { readOnly: false };
    case 'worktree':
      return pos[0] === 'list' ? { readOnly: true } : { gate: "changes the repository's worktrees, which CodePlane manages", readOnly: false };
    case 'remote':
      return pos.length === 0 || pos[0] === 'show' || pos[0] === 'get-url' ? { readOnly: true } : { gate: "changes the repository's remotes", readOnly: false };
    case 'config': {
      const reads = flag(['--get', '--get-all', '--get-regexp', '--get-urlmatch', '--list', '--get-color', '--get-colorbool'], 'l');
      const writes = flag(['--unset', '--unset-all', '--add', '--replace-all', '--rename-section', '--remove-section', '--edit'], 'e');
      if (reads || pos[0] === 'get' || pos[0] === 'list' || (!writes && pos.length === 1)) return { readOnly: true };
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
      return { readOnly: pos[0] === 'list' || pos[0] === 'show' };
    case 'grep':
      return { readOnly: !flag(['--open-files-in-pager'], 'O') };
  }
  if (READ_ONLY.has(sub)) return { readOnly: true };
  if (ORDINARY.has(sub)) return { readOnly: false };
  if (sub === '--version' || sub === '--help' || sub === '-h') return { readOnly: true };
  return { gate: `uses "${sub}", which is not a git command this policy knows (it may be an alias)`, readOnly: false };
}

const BRANCH_VALUE_OPTS = new Set(['--contains', '--no-contains', '--merged', '--no-merged', '--points-at', '--sort', '--format', '--color']);

function isListing(sub: string, rest: readonly Arg[]): boolean {
  if (sub === 'ls-files') return true;
  if (sub === 'diff' || sub === 'show' || sub === 'log') return hasFlag(rest, ['--name-only', '--name-status'], '');
  if (sub === 'grep') return hasFlag(rest, ['--files-with-matches', '--name-only', '--files-without-match'], 'lL');
  if (sub === 'ls-tree') return hasFlag(rest, ['--name-only'], '');
  return false;
}

/**
 * git refuses pathspecs outside the repository, so only arguments that could
 * point elsewhere are checked: absolute, `~`, with a `..` component, and the
 * files of output options.
 */
function collectPaths(rest: readonly Arg[], out: GitVerdict['paths']): void {
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a || a.unknown) continue;
    const t = a.text;
    if (TEXT_VALUE_OPTS.has(t)) {
      i++;
      continue;
    }
    if (OUTPUT_OPTS.has(t)) {
      const v = rest[++i];
      if (v) out.push({ arg: v, role: 'write' });
      continue;
    }
    const eq = t.indexOf('=');
    if (t.startsWith('--') && eq > 0) {
      const opt = t.slice(0, eq);
      if (OUTPUT_OPTS.has(opt)) out.push({ arg: valueArg(a, t), role: 'write' });
      else if (!TEXT_VALUE_OPTS.has(opt) && couldEscape(t.slice(eq + 1))) out.push({ arg: valueArg(a, t), role: 'read' });
      continue;
    }
    if (!t.startsWith('-') && couldEscape(t)) out.push({ arg: a, role: 'read' });
  }
}

function couldEscape(t: string): boolean {
  return t.startsWith('/') || t.startsWith('~') || t.split('/').includes('..');
}

function valueArg(a: Arg | undefined, text: string): Arg {
  return { text: text.slice(text.indexOf('=') + 1), glob: a?.glob ?? false };
}

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
