/**
 * What the policy knows about individual commands outside the read-only table
 * (shell-readonly.ts): which are hard gates outside git, which options take a
 * value, which list paths. Data and small predicates only; the walk is in
 * shell-analysis.ts.
 */

/** One expanded argument. `unknown` says why its value only exists at run time. */
export interface Arg {
  text: string;
  unknown?: string;
  /** Contains an unquoted glob character. */
  glob: boolean;
}

/** `--long`, `--long=…`, or a short cluster (`-fdx`) containing one of `shorts`. */
export function hasFlag(args: readonly Arg[], longs: readonly string[], shorts: string): boolean {
  for (const a of args) {
    const t = a.text;
    if (t === '--') return false;
    if (t.startsWith('--')) {
      if (longs.some((l) => t === l || t.startsWith(`${l}=`))) return true;
    } else if (t.startsWith('-') && t.length > 1 && [...t.slice(1)].some((c) => shorts.includes(c))) return true;
  }
  return false;
}

/** Arguments that are not options (everything after `--` counts). */
export function positionals(args: readonly Arg[]): string[] {
  const out: string[] = [];
  let ended = false;
  for (const a of args) {
    if (!ended && a.text === '--') ended = true;
    else if (ended || !a.text.startsWith('-') || a.text === '-') out.push(a.text);
  }
  return out;
}

/** Commands whose arguments are never file paths and that do not depend on the working directory. */
export const NON_PATH_ARGS = new Set([
  'echo', 'printf', 'true', 'false', ':', 'test', '[', '[[', '((', 'let', 'expr', 'export', 'local', 'declare', 'typeset',
  'readonly', 'set', 'unset', 'shift', 'exit', 'return', 'read', 'sleep', 'seq', 'date', 'kill', 'wait', 'jobs', 'type',
  'which', 'whereis', 'hash', 'help', 'whoami', 'id', 'uname', 'hostname', 'basename', 'dirname', 'printenv', 'yes', 'tr',
  'unalias', 'alias', 'trap', 'history', 'umask', 'tput', 'clear',
]);

/** Commands whose first non-option argument is a pattern or program text, unless one of these options supplies it. */
interface PatternSource {
  longs: string[];
  shorts: string;
}
const GREP_PATTERN: PatternSource = { longs: ['--regexp', '--file'], shorts: 'ef' };
const AWK_PROGRAM: PatternSource = { longs: ['--file'], shorts: 'f' };
export const PATTERN_FIRST: ReadonlyMap<string, PatternSource> = new Map<string, PatternSource>([
  ['grep', GREP_PATTERN],
  ['egrep', GREP_PATTERN],
  ['fgrep', GREP_PATTERN],
  ['rg', { longs: ['--regexp', '--file', '--files', '--type-list'], shorts: 'ef' }],
  ['sed', { longs: ['--expression', '--file'], shorts: 'ef' }],
  ['awk', AWK_PROGRAM],
  ['gawk', AWK_PROGRAM],
  ['mawk', AWK_PROGRAM],
  ['jq', { longs: ['--from-file'], shorts: 'f' }],
]);

/** Options that take the next word as a value that is not a path, per command. Unlisted options take none. */
export const VALUE_OPTS: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries({
    grep: ['-e', '-m', '-A', '-B', '-C', '-d', '-D', '--regexp', '--max-count', '--label'],
    rg: ['-e', '-g', '-t', '-T', '-m', '-A', '-B', '-C', '-M', '-j', '-d', '-r', '-E', '--glob', '--iglob', '--type', '--type-not', '--max-count', '--max-depth', '--replace', '--sort', '--sortr', '--engine', '--colors', '--type-add', '--max-filesize', '--context-separator'],
    head: ['-n', '-c'],
    tail: ['-n', '-c'],
    cut: ['-d', '-f', '-c', '-b'],
    sort: ['-k', '-t', '-S', '--parallel'],
    ls: ['-I', '-w', '--ignore', '--width'],
    du: ['-d', '-B', '-t', '--max-depth'],
    tree: ['-L', '-I', '-P', '--charset'],
    xxd: ['-l', '-s', '-c', '-g'],
    sed: ['-e', '-l', '--expression'],
    awk: ['-F', '-v'],
    diff: ['-U', '-x', '-I', '--label'],
    jq: ['--arg', '--argjson', '--indent', '--slurpfile', '--rawfile'],
    curl: ['-H', '-X', '-d', '-u', '-A', '-e', '-F', '--header', '--request', '--data', '--data-raw', '--data-binary', '--user', '--user-agent', '--form', '-m', '--max-time'],
  }).map(([k, v]) => [k, new Set(v)]),
);
/** jq's --arg NAME VALUE-style options take two words. */
export const TWO_VALUE_OPTS = new Set(['--arg', '--argjson', '--slurpfile', '--rawfile']);
['egrep', 'fgrep'].forEach((n) => (VALUE_OPTS as Map<string, ReadonlySet<string>>).set(n, VALUE_OPTS.get('grep') ?? new Set()));

/**
 * Hard gates outside git (ask even in full_auto): effects on the machine or on
 * the world that no diff of the worktree shows.
 */
export function systemGate(name: string, args: readonly Arg[]): string | undefined {
  const pos = positionals(args);
  const first = pos[0];
  switch (name) {
    case 'sudo':
    case 'doas':
    case 'su':
      return `runs with elevated privileges (${name})`;
    case 'pkill':
    case 'killall':
      return `signals processes by name (${name}), which may stop CodePlane or other jobs`;
    case 'ssh':
      return pos.length >= 2 ? 'runs a command on another machine (ssh)' : undefined;
    case 'at':
    case 'batch':
    case 'systemd-run':
      return `schedules a command to run later or outside the job's processes (${name})`;
    case 'shutdown':
    case 'reboot':
    case 'halt':
    case 'poweroff':
      return 'shuts down or restarts the machine';
    case 'systemctl':
      return first && /^(status|show|list-|is-)/.test(first) ? undefined : 'manages system services (systemctl)';
    case 'launchctl':
      return first === 'list' || first === 'print' ? undefined : 'manages system services (launchctl)';
    case 'crontab':
      return hasFlag(args, [], 'l') ? undefined : 'changes scheduled jobs (crontab)';
    case 'npm':
    case 'pnpm':
    case 'yarn':
    case 'bun':
      return pos.slice(0, 2).some((p) => ['publish', 'unpublish', 'deprecate', 'owner', 'dist-tag'].includes(p)) ? 'publishes to a package registry' : undefined;
    case 'cargo':
      return first === 'publish' || first === 'yank' || first === 'owner' ? 'publishes to a package registry' : undefined;
    case 'gem':
      return first === 'push' || first === 'yank' ? 'publishes to a package registry' : undefined;
    case 'twine':
    case 'poetry':
      return first === 'upload' || first === 'publish' ? 'publishes to a package registry' : undefined;
    case 'docker':
    case 'podman':
      return first === 'push' ? 'pushes an image to a registry' : undefined;
    case 'gh':
      return ghGate(args);
  }
  return undefined;
}

const GH_READ: Record<string, string[]> = {
  pr: ['view', 'list', 'status', 'diff', 'checks'],
  issue: ['view', 'list', 'status'],
  repo: ['view', 'list'],
  run: ['view', 'list', 'watch'],
  release: ['view', 'list'],
  workflow: ['view', 'list'],
  auth: ['status'],
  gist: ['view', 'list'],
  label: ['list'],
  search: ['repos', 'issues', 'prs', 'code', 'commits'],
};

/** gh reads GitHub (network: asks in review mode) or changes it (a hard gate: a remote change). */
function ghGate(args: readonly Arg[]): string | undefined {
  const pos = positionals(args);
  const [group, action] = pos;
  if (group === undefined || group === 'help' || group === 'version' || group === 'status') return undefined;
  if (group === 'api') {
    const t = args.map((a) => a.text);
    const mi = t.findIndex((x) => x === '-X' || x === '--method');
    const method = (mi >= 0 ? t[mi + 1] : t.find((x) => x.startsWith('--method='))?.slice(9)) ?? (hasFlag(args, ['--field', '--raw-field', '--input'], 'fF') ? 'POST' : 'GET');
    return method.toUpperCase() === 'GET' ? undefined : `changes state on GitHub (gh api ${method.toUpperCase()})`;
  }
  if (action !== undefined && GH_READ[group]?.includes(action)) return undefined;
  return `changes state on GitHub (gh ${group}${action ? ` ${action}` : ''})`;
}

/** Package managers writing outside the worktree: a global install. */
export function outsideEffect(name: string, args: readonly Arg[]): string | undefined {
  if (!['npm', 'pnpm', 'yarn', 'bun'].includes(name)) return undefined;
  const global = hasFlag(args, ['--global', '--location'], 'g') || positionals(args)[0] === 'global';
  return global ? "installs globally, outside the job's worktree" : undefined;
}

/** Commands that talk to other machines: denied in observe_only, asked in review mode. */
export const NETWORK = new Set([
  'curl', 'wget', 'ssh', 'scp', 'sftp', 'rsync', 'nc', 'ncat', 'netcat', 'socat', 'telnet', 'ftp', 'tftp', 'ping', 'ping6',
  'dig', 'nslookup', 'host', 'whois', 'traceroute', 'tracepath', 'mtr', 'aria2c', 'http', 'https', 'xh', 'gh', 'npx', 'bunx',
]);

/** POSIX-family shells: their `-c` text is parsed and judged like the command line itself. */
export const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'mksh']);

/** Commands whose output is file paths, one per line: what they list is what `xargs` gets. */
export function isListing(name: string, args: readonly Arg[]): boolean {
  if (name === 'fd' || name === 'fdfind') return true;
  // `ls -a` lists `..`; `ls -l` prints symlink targets (`link -> /etc/passwd`): not just names inside.
  if (name === 'ls') return !hasFlag(args, ['--all', '--format'], 'afl');
  if (name === 'find') return !args.some((a) => FIND_RUNS.has(a.text) || ['-printf', '-fprintf', '-ls', '-fls'].includes(a.text));
  if (name === 'grep' || name === 'egrep' || name === 'fgrep') return hasFlag(args, ['--files-with-matches', '--files-without-match'], 'lL');
  if (name === 'rg') return hasFlag(args, ['--files-with-matches', '--files-without-match', '--files'], 'lL');
  return false;
}
/** find actions that run a command on every match. */
export const FIND_RUNS = new Set(['-exec', '-execdir', '-ok', '-okdir']);
/** find actions that write: delete matches or print into a file. */
export const FIND_WRITES = new Set(['-delete', '-fprint', '-fprint0', '-fprintf', '-fls']);

/** Line filters that pass through (a subset of) what they read when given no files. */
export const LINE_FILTERS = new Set(['grep', 'egrep', 'fgrep', 'rg', 'head', 'tail', 'sort', 'uniq', 'tac', 'shuf', 'cat']);

/** Re-quotes a word for re-parsing (alias expansion): single quotes, with embedded ones escaped. */
export function quoteWord(t: string): string {
  return `'${t.replaceAll("'", "'\\''")}'`;
}

/** A relative path with no way up: `..`, absolute, `~`, or a dot-glob that may match `..`. */
export function plainRelative(a: Arg): boolean {
  const t = a.text;
  if (t.startsWith('/') || t.startsWith('~')) return false;
  return !t.split('/').some((c) => c === '..' || (a.glob && c.startsWith('.') && /[*?[]/.test(c)));
}
