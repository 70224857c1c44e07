/**
 * How CodePlane runs git on its own account: the ONE place that decides the argv and the
 * environment of every git process the server starts (supervisor/git/git-exec.ts on the main
 * thread, workers/tasks/git-task.ts on a pool thread), and of the git the GitHub CLI starts.
 *
 * WHY: the server runs git in directories an agent writes. A repository's configuration can
 * name programs (hooks, fsmonitor, filter and merge drivers, an external diff, an ssh command),
 * and a husky-style `core.hooksPath=.githooks` or a nested repository's `.git/config` puts
 * those programs in files the agent controls. Git started by the server with the server's
 * privileges would run them outside any sandbox or approval. So every command gets
 * command-line configuration (which outranks every config file) that switches each such
 * program off, and an environment without the server's `GIT_*` variables (which would point
 * git at another repository, or name programs: GIT_EXTERNAL_DIFF, GIT_SSH_COMMAND, GIT_ASKPASS)
 * and without CodePlane's own secrets. docs/security.md "Server-side git" lists every item.
 *
 * Pure (no I/O): the caller passes the environment it inherited.
 */

/** `[key, value]` pairs given to every server-side git command as command-line configuration. */
export function hardeningConfig(purpose: GitPurpose): ReadonlyArray<readonly [string, string]> {
  return purpose === 'network' ? NETWORK_CONFIG : LOCAL_CONFIG;
}

/**
 * 'local': no command needs a credential, so credential helpers are switched off too.
 * 'network': `push` (and the GitHub CLI): the user's credential helpers must still answer.
 */
export type GitPurpose = 'local' | 'network';

const COMMON_CONFIG: ReadonlyArray<readonly [string, string]> = [
  // No hook of the repository runs: git looks for /dev/null/<hook>, which never exists.
  ['core.hooksPath', '/dev/null'],
  // `git status`/`add` would start the configured fsmonitor program (also a nested repository's).
  ['core.fsmonitor', 'false'],
  // A repository may name the ssh program used to push; use plain ssh, never prompting.
  ['core.sshCommand', 'ssh -o BatchMode=yes'],
  // A proxy program for git:// remotes.
  ['core.gitProxy', ''],
  // No prompt program: nobody is at this terminal (GIT_ASKPASS/SSH_ASKPASS are not passed either).
  ['core.askPass', ''],
  ['core.pager', 'cat'],
  ['core.editor', 'true'],
  ['sequence.editor', 'true'],
  // An external diff program (also switched off per command with --no-ext-diff).
  ['diff.external', ''],
  // `ext::<command>` remote URLs run a program.
  ['protocol.ext.allow', 'never'],
  // Submodules are never entered: each is a repository with its own config and hooks.
  ['submodule.recurse', 'false'],
  ['push.recurseSubmodules', 'no'],
  ['fetch.recurseSubmodules', 'false'],
  // CodePlane's own commits are not signed (a signing program is a program, and it may prompt).
  ['commit.gpgSign', 'false'],
  ['tag.gpgSign', 'false'],
  ['log.showSignature', 'false'],
  // Never stash the user's work behind their back.
  ['merge.autoStash', 'false'],
  ['rebase.autoStash', 'false'],
  // No background `git gc`/maintenance started by a server command (it outlives the request).
  ['gc.auto', '0'],
  ['maintenance.auto', 'false'],
];

/** An empty `credential.helper` resets the list: local commands never need a credential. */
const LOCAL_CONFIG = [...COMMON_CONFIG, ['credential.helper', '']] as const;
const NETWORK_CONFIG = COMMON_CONFIG;

/** What the server sets in git's environment itself (everything else named GIT_* is dropped). */
const OWN_ENV: Readonly<Record<string, string>> = {
  // Never block on a credential prompt or an editor: nobody is at this terminal.
  GIT_TERMINAL_PROMPT: '0',
  GIT_EDITOR: 'true',
  GIT_PAGER: 'cat',
};

/**
 * Inherited variables git must not see. GIT_* is dropped whole (GIT_DIR, GIT_CONFIG_PARAMETERS,
 * GIT_EXTERNAL_DIFF, GIT_SSH_COMMAND, GIT_ASKPASS, ...); SSH_ASKPASS names a prompt program;
 * CPL_* and CODEPLANE_* are CodePlane's own settings and secrets (the login password).
 */
export function droppedFromGitEnv(name: string): boolean {
  const upper = name.toUpperCase();
  return upper.startsWith('GIT_') || upper === 'SSH_ASKPASS' || upper.startsWith('CPL_') || upper.startsWith('CODEPLANE_');
}

export type InheritedEnv = Readonly<Record<string, string | undefined>>;

let cachedBase: { from: InheritedEnv; env: Readonly<Record<string, string>> } | undefined;

/**
 * The inherited environment minus what git must not see, plus OWN_ENV. Memoized on the
 * object's identity: copying process.env for each command was 2.5 % of a busy server's main
 * thread, and the server never changes its environment after it starts.
 */
function baseEnv(inherited: InheritedEnv): Readonly<Record<string, string>> {
  if (cachedBase?.from === inherited) return cachedBase.env;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(inherited)) if (v !== undefined && !droppedFromGitEnv(k)) env[k] = v;
  Object.assign(env, OWN_ENV);
  cachedBase = { from: inherited, env: Object.freeze(env) };
  return cachedBase.env;
}

export interface GitInvocationOptions {
  /** The environment the caller inherited (process.env). */
  inherited: InheritedEnv;
  /**
   * Variables this one command needs (GIT_INDEX_FILE for the live diff's throwaway index).
   * Set after the inherited ones were cleaned, so they are the caller's decision.
   */
  env?: Readonly<Record<string, string>>;
  /** Configuration names found by the driver scan (see driverScanArgs). */
  driverNames?: readonly string[];
}

export interface GitInvocation {
  /** The complete argv after `git`. */
  args: string[];
  env: Readonly<Record<string, string>>;
}

/**
 * The argv and environment of `git <args>` as the server runs it: the hardening config first,
 * then `args` with per-command flags right after the subcommand name (--no-verify where a hook
 * would run, --no-ext-diff and --no-textconv where a diff is made, submodules not entered).
 */
export function gitInvocation(args: readonly string[], opts: GitInvocationOptions): GitInvocation {
  const sub = subcommandAt(args);
  const name = sub < 0 ? undefined : args[sub];
  const config = hardeningConfig(name === 'push' ? 'network' : 'local');
  const pre: string[] = [];
  for (const [k, v] of config) pre.push('-c', `${k}=${v}`);
  const out = [...pre, ...(sub < 0 ? args : [...args.slice(0, sub + 1), ...commandFlags(name!, args.slice(sub + 1)), ...args.slice(sub + 1)])];
  const drivers = driverOverrides(opts.driverNames ?? []);
  const extra = { ...opts.env, ...configEnv(drivers) };
  const base = baseEnv(opts.inherited);
  return { args: out, env: Object.keys(extra).length === 0 ? base : { ...base, ...extra } };
}

/**
 * The environment for another program that runs git itself (the GitHub CLI): the same
 * cleaning, and the hardening config passed as GIT_CONFIG_COUNT/KEY/VALUE, which git reads
 * as command-line configuration in every git process that program starts. `driverNames`: the
 * driver scan of the repository it works in (its `git status` may run a filter).
 */
export function toolEnvForGit(inherited: InheritedEnv, extra: Readonly<Record<string, string>> = {}, driverNames: readonly string[] = []): Record<string, string> {
  return { ...baseEnv(inherited), ...extra, ...configEnv([...hardeningConfig('network'), ...driverOverrides(driverNames)]) };
}

/** `-c` equivalents in the environment (exact key/value pairs: a name may contain `=`). */
function configEnv(pairs: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  if (pairs.length === 0) return {};
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(pairs.length) };
  pairs.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}

/** Index of the subcommand in `args` (after global options such as `-c k=v`), or -1. */
export function subcommandAt(args: readonly string[]): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c' || a === '-C') {
      i++;
      continue;
    }
    if (!a.startsWith('-')) return i;
  }
  return -1;
}

/** Flags added right after the subcommand name. */
function commandFlags(sub: string, rest: readonly string[]): string[] {
  const chosen = (opt: string) => rest.some((a) => a === opt || a.startsWith(`${opt}=`));
  switch (sub) {
    // pre-commit, commit-msg, pre-merge-commit, pre-push: not run even if a hooks path slipped through.
    case 'commit':
    case 'merge':
      return ['--no-verify'];
    // remote.<name>.receivepack names the program run for a push (locally, for a path remote).
    case 'push':
      return ['--no-verify', '--receive-pack=git-receive-pack'];
    case 'diff':
      return ['--no-ext-diff', '--no-textconv', ...(chosen('--ignore-submodules') ? [] : ['--ignore-submodules=dirty'])];
    case 'log':
    case 'show':
      return ['--no-ext-diff', '--no-textconv'];
    // "dirty": a submodule's commit still counts, but git never starts inside it to look for changes.
    case 'status':
      return chosen('--ignore-submodules') ? [] : ['--ignore-submodules=dirty'];
    default:
      return [];
  }
}

/**
 * Commands that can run a filter driver (clean on reading the working tree, smudge on writing
 * it) or a merge driver: before them, the repository's configured drivers are looked up
 * (driverScanArgs) and switched off (driverOverrides).
 */
const DRIVER_COMMANDS = new Set([
  'add', 'am', 'apply', 'checkout', 'checkout-index', 'cherry-pick', 'commit', 'merge', 'merge-tree', 'mv', 'pull',
  'read-tree', 'rebase', 'reset', 'restore', 'revert', 'rm', 'stash', 'status', 'switch', 'update-index',
]);

export function needsDriverScan(args: readonly string[]): boolean {
  const sub = subcommandAt(args);
  if (sub < 0) return false;
  const name = args[sub]!;
  if (DRIVER_COMMANDS.has(name)) return true;
  const rest = args.slice(sub + 1);
  // `worktree add` checks files out (smudge); list, prune and remove do not.
  if (name === 'worktree') return rest.find((a) => !a.startsWith('-')) === 'add';
  if (name === 'ls-files') return rest.some((a) => a === '-m' || a === '--modified');
  if (name !== 'diff') return false;
  // A diff reads the working tree (and so may run a clean filter) unless it compares the index or two commits.
  if (rest.includes('--cached') || rest.includes('--staged')) return false;
  const end = rest.indexOf('--');
  return (end < 0 ? rest : rest.slice(0, end)).filter((a) => !a.startsWith('-')).length < 2;
}

/** `git config -z --name-only --get-regexp <re>`: every configured filter and merge driver command. */
export const DRIVER_SCAN_ARGS: readonly string[] = ['config', '-z', '--name-only', '--get-regexp', '^(filter|merge)\\..+\\.(clean|smudge|process|driver)$'];

/**
 * Built-in three-way text merge, as a merge driver: what git does for a path with no merge
 * driver. A repository's own driver is replaced by it, so a merge still merges.
 */
export const BUILTIN_MERGE_DRIVER = 'git merge-file --marker-size=%L %A %O %B';

/**
 * Overrides switching off each configured driver: an empty clean/smudge/process command means
 * "no filter" (the content passes unchanged, `required` is cleared so that is not an error);
 * a merge driver becomes the built-in text merge.
 */
export function driverOverrides(names: readonly string[]): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  const required = new Set<string>();
  for (const name of names) {
    const dot = name.lastIndexOf('.');
    const section = name.slice(0, name.indexOf('.')).toLowerCase();
    const key = name.slice(dot + 1).toLowerCase();
    if (section === 'filter' && (key === 'clean' || key === 'smudge' || key === 'process')) {
      out.push([name, '']);
      required.add(`${name.slice(0, dot)}.required`);
    } else if (section === 'merge' && key === 'driver') out.push([name, BUILTIN_MERGE_DRIVER]);
  }
  for (const r of required) out.push([r, 'false']);
  return out;
}

/** Splits `git config -z --name-only` output (each name ends with NUL; older gits end with a newline). */
export function parseConfigNames(out: string): string[] {
  return out
    .split(/\0|\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
