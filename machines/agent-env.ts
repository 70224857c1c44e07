/**
 * What reaches an agent, and its worker, of the server's environment: an allow-list, never
 * "everything minus a deny list" (the server's environment holds CPL_PASSWORD, cloud keys,
 * whatever the user's shell exported). Pure: the supervisor computes the worker's environment
 * with it, and the worker the agent's from its own, with the same patterns (config `agentEnv`).
 *
 * - The agent gets the basics (PATH, HOME, user, shell, locale, terminal, proxies, TMPDIR, CA
 *   bundles), the agents' own credentials (ANTHROPIC_*, CLAUDE_*, COPILOT_*, GH_TOKEN,
 *   GITHUB_TOKEN, GH_HOST), and what the user lists.
 * - Nothing named CPL_* or CODEPLANE_* ever reaches an agent, whatever the user lists.
 * - Variables that load code into a process (NODE_OPTIONS, LD_PRELOAD...) reach an agent only
 *   when listed by their exact name: the agent's tools are node programs too.
 * - The worker gets the agent's set, the server's own runtime variables (it is the same program
 *   as the server), and the few CodePlane variables it reads, named one by one.
 */

/** Exact names every agent gets when the server has them. */
const AGENT_NAMES = new Set([
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL',
  'LANG', 'LANGUAGE', 'TZ',
  'TERM', 'COLORTERM',
  'TMPDIR',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy',
  // A proxy that inspects TLS needs its CA: data, not code.
  'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
  'GH_TOKEN', 'GITHUB_TOKEN', 'GH_HOST',
  // Where the user's tools keep their config and caches (gh's login lives under XDG_CONFIG_HOME when set).
  'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME',
  // Identity and CA data for the agent's git: values, not programs (GIT_SSH_COMMAND, GIT_EXTERNAL_DIFF... stay out).
  'GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL', 'GIT_SSL_CAINFO', 'GIT_SSL_CAPATH',
  // Claude Code's settings that are not under CLAUDE_ (switches and limits, no code).
  'MAX_THINKING_TOKENS', 'MCP_TIMEOUT', 'MCP_TOOL_TIMEOUT', 'BASH_DEFAULT_TIMEOUT_MS', 'BASH_MAX_TIMEOUT_MS', 'BASH_MAX_OUTPUT_LENGTH',
]);

/** Prefixes every agent gets: locale categories, the agents' own settings and credentials, Claude Code's DISABLE_* switches. */
const AGENT_PREFIXES = ['LC_', 'ANTHROPIC_', 'CLAUDE_', 'COPILOT_', 'DISABLE_'];

/** CodePlane's own namespaces: never an agent's, whatever the configuration says. */
const OWN_PREFIXES = ['CPL_', 'CODEPLANE_'];

/**
 * Variables that make a process load code. The worker keeps the server's (same program, same
 * trust); an agent gets one only when the user lists that exact name (a `*` pattern is not enough).
 */
const CODE_LOADING = new Set(['NODE_OPTIONS', 'NODE_PATH', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'DYLD_INSERT_LIBRARIES', 'DYLD_LIBRARY_PATH', 'BASH_ENV', 'ENV', 'PYTHONSTARTUP', 'PERL5OPT', 'RUBYOPT']);
const WORKER_RUNTIME = ['NODE_OPTIONS', 'LD_PRELOAD', 'LD_LIBRARY_PATH'];

/**
 * The CodePlane variables a worker reads (workers/agents/registry.ts, workers/watchdog.ts,
 * workers/log.ts, workers/agents/copilot-provider.ts, the sandbox's settings, the patterns
 * themselves). A new one must be named here, or the worker never sees it. CPL_PASSWORD
 * and the rest of the server's settings are not among them.
 */
export const WORKER_OWN_NAMES: readonly string[] = [
  'CODEPLANE_HOME',
  'CODEPLANE_CLAUDE_PATH',
  'CODEPLANE_COPILOT_PATH',
  'CODEPLANE_CLAUDE_USER_CONFIG',
  'CODEPLANE_COPILOT_USER_CONFIG',
  'CODEPLANE_COPILOT_PROVIDER',
  'CODEPLANE_WATCHDOG_MS',
  'CODEPLANE_TOOL_WATCHDOG_MS',
  'CODEPLANE_AGENT_ENV',
  // The per-job sandbox (workers/sandbox/): the supervisor's decision and the paths it checked.
  'CODEPLANE_SANDBOX',
  'CODEPLANE_BWRAP',
  'CODEPLANE_WORKTREES_DIR',
  'CPL_LOG_LEVEL',
];

/** Where the supervisor hands the worker the user's `agentEnv` patterns (a JSON array). */
export const AGENT_ENV_VAR = 'CODEPLANE_AGENT_ENV';

export type Env = Record<string, string | undefined>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Why an `agentEnv` entry is refused, or undefined when it is fine: a variable name, or a name
 * prefix followed by one `*` (`"AWS_*"`). A bare `*`, or anything naming CodePlane's own
 * variables, is refused: the allow-list would mean nothing.
 */
export function agentEnvPatternError(pattern: string): string | undefined {
  const stem = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
  if (stem === '') return 'a bare "*" would hand the agent the whole environment; list names or prefixes such as "AWS_*"';
  if (!NAME.test(stem)) return 'expected a variable name, or a name prefix followed by "*" (letters, digits, _)';
  if (OWN_PREFIXES.some((p) => stem.toUpperCase().startsWith(p))) return `CodePlane's own variables (${OWN_PREFIXES.map((p) => `${p}*`).join(', ')}) never reach an agent`;
  return undefined;
}

/** Whether the user's patterns let `name` through (exact names, or prefixes ending in `*`). */
function listed(name: string, patterns: readonly string[], exactOnly: boolean): boolean {
  for (const p of patterns) {
    if (agentEnvPatternError(p) !== undefined) continue; // validated at load; never trusted here
    if (p.endsWith('*')) {
      if (!exactOnly && name.startsWith(p.slice(0, -1))) return true;
    } else if (p === name) return true;
  }
  return false;
}

/** Whether `name` reaches an agent, given the user's patterns. */
export function agentMayHave(name: string, patterns: readonly string[] = []): boolean {
  if (OWN_PREFIXES.some((p) => name.toUpperCase().startsWith(p))) return false;
  if (CODE_LOADING.has(name)) return listed(name, patterns, true);
  if (AGENT_NAMES.has(name) || AGENT_PREFIXES.some((p) => name.startsWith(p))) return true;
  return listed(name, patterns, false);
}

/** The environment an agent CLI gets from `env` (the worker's, or the server's). */
export function agentEnvFrom(env: Env, patterns: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && agentMayHave(k, patterns)) out[k] = v;
  return out;
}

/**
 * The environment a job worker gets from the server's: the agent's set, the server's runtime
 * variables, and CodePlane's own variables the worker reads (`extra`, set by the supervisor,
 * counts as the server's), with the patterns passed on for the worker's own use.
 */
export function workerEnvFrom(serverEnv: Env, patterns: readonly string[] = [], extra: Env = {}): Record<string, string> {
  const all: Env = { ...serverEnv, ...extra };
  const out = agentEnvFrom(all, patterns);
  for (const k of [...WORKER_RUNTIME, ...WORKER_OWN_NAMES]) {
    const v = all[k];
    if (v !== undefined) out[k] = v;
  }
  if (patterns.length > 0) out[AGENT_ENV_VAR] = JSON.stringify(patterns);
  else delete out[AGENT_ENV_VAR];
  return out;
}

/** The patterns the supervisor handed this worker (CODEPLANE_AGENT_ENV); malformed or invalid entries are ignored. */
export function agentEnvPatternsFrom(env: Env): string[] {
  const raw = env[AGENT_ENV_VAR];
  if (!raw) return [];
  try {
    const v: unknown = JSON.parse(raw);
    return Array.isArray(v) ? v.filter((p): p is string => typeof p === 'string' && agentEnvPatternError(p) === undefined) : [];
  } catch {
    return [];
  }
}
