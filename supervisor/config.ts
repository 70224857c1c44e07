import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ClientKeys, TrustedProxyError } from '../api/client-address.ts';
import { PushHostsError, canonicalHostPort } from './push/push-endpoint.ts';
import { agentEnvPatternError } from '../machines/agent-env.ts';
import { DecodeError, array, bool, decode, int, literal, object, optional, record, str, type Decoder } from '../machines/decode.ts';

/** The documented keys of `$CODEPLANE_HOME/config.json` (docs/configuration.md). */
export interface FileConfig {
  worktreesDir?: string;
  maxConcurrentJobs: number;
  maxJobsPerRepo: number;
  /** After this long waiting for an approval, a job stops holding a concurrency slot. */
  approvalHoldsSlotSeconds: number;
  /** Per repository (absolute path or name): a shell command run in each new worktree before the agent starts. */
  setupCommands: Record<string, string>;
  /** Remove a job's worktree once it is merged, turned into a PR, or discarded. */
  cleanupResolvedWorktrees: boolean;
  /**
   * Per agent: `path`, the CLI to use; `userConfig`, load the user's own configuration of that
   * agent in jobs (Claude's user/project/local settings, Copilot's `~/.copilot`). Off by default:
   * it can approve tools behind the permission policy's back, or add tools (MCP servers) it never sees.
   */
  agents: { claude: AgentConfig; copilot: AgentConfig };
  /** Silence allowed from a running agent before the worker interrupts it and fails the turn; 0 turns the watchdog off. */
  agentWatchdogSeconds: number;
  /** The same while a tool runs (a long build or test the user approved); 0 = a running tool is never timed out. */
  agentToolWatchdogSeconds: number;
  /**
   * The nice value job workers run at (their agent CLIs and the tools those run inherit it):
   * when agents and their builds saturate the machine, the server, and with it the UI, the
   * approvals and the event stream, still gets the CPU first. 0 = the server's own priority.
   */
  workerNice: number;
  /**
   * A job idle in review this long gets its worker and agent CLI stopped (the agent session is
   * kept on disk); the next message resumes it in a new worker. 0 = they stay up until resolved.
   */
  idleWorkerSeconds: number;
  /** Extra host names the server answers to (besides localhost, 127.0.0.1, [::1], --host and a tunnel's host). */
  allowedHosts: string[];
  /** Proxy addresses or CIDR ranges whose X-Forwarded-For names the client (login rate limiting). */
  trustedProxies: string[];
  /** Password checks allowed per minute across all clients (browsers that logged in before are not held by it). */
  loginAttemptsPerMinute: number;
  /** The VAPID `sub` claim: a mailto: or https: URL where push services can reach you. */
  pushSubject?: string;
  /** `host:port`s a push subscription may point at besides the browsers' push services (a self-hosted push service). */
  pushAllowedHosts: string[];
  /**
   * Variables of the server's environment an agent gets besides the built-in allow-list
   * (machines/agent-env.ts): exact names or prefixes ending in `*`, e.g. `["AWS_*", "JAVA_HOME"]`.
   */
  agentEnv: string[];
  /**
   * "on": every agent CLI and all it runs live in an operating-system sandbox (bubblewrap); a job
   * is refused where it cannot be built. "off": agents run with the user's full rights.
   */
  sandbox: 'on' | 'off';
  /** The bubblewrap binary (absolute, or a name looked up on PATH); default `bwrap` on PATH. */
  bwrapPath?: string;
}

export interface AgentConfig {
  path?: string;
  userConfig?: boolean;
}

export const DEFAULT_CONFIG: FileConfig = {
  maxConcurrentJobs: 4,
  maxJobsPerRepo: 2,
  cleanupResolvedWorktrees: true,
  setupCommands: {},
  approvalHoldsSlotSeconds: 300,
  agents: { claude: {}, copilot: {} },
  agentWatchdogSeconds: 600,
  agentToolWatchdogSeconds: 1800,
  workerNice: 10,
  idleWorkerSeconds: 600,
  allowedHosts: [],
  trustedProxies: [],
  loginAttemptsPerMinute: 30,
  pushAllowedHosts: [],
  agentEnv: [],
  sandbox: 'on',
};

const KNOWN_KEYS = new Set(['worktreesDir', 'maxConcurrentJobs', 'maxJobsPerRepo', 'cleanupResolvedWorktrees', 'approvalHoldsSlotSeconds', 'setupCommands', 'agents', 'agentWatchdogSeconds', 'agentToolWatchdogSeconds', 'workerNice', 'idleWorkerSeconds', 'allowedHosts', 'trustedProxies', 'loginAttemptsPerMinute', 'pushSubject', 'pushAllowedHosts', 'agentEnv', 'sandbox', 'bwrapPath']);
const stringMap: Decoder<Record<string, string>> = (v, f) => {
  const r = record(v, f);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(r)) out[k] = str({ min: 1 })(x, `${f}.${k}`);
  return out;
};
const agentDecoder = optional(object({ path: optional(str({ min: 1 })), userConfig: optional(bool) }));
const fileDecoder = object({
  worktreesDir: optional(str({ min: 1 })),
  maxConcurrentJobs: optional(int({ min: 1, max: 64 })),
  maxJobsPerRepo: optional(int({ min: 1, max: 64 })),
  cleanupResolvedWorktrees: optional(bool),
  setupCommands: optional(stringMap),
  approvalHoldsSlotSeconds: optional(int({ min: 0, max: 86_400 })),
  agents: optional(object({ claude: agentDecoder, copilot: agentDecoder })),
  agentWatchdogSeconds: optional(int({ min: 0, max: 86_400 })),
  agentToolWatchdogSeconds: optional(int({ min: 0, max: 604_800 })),
  workerNice: optional(int({ min: 0, max: 19 })),
  idleWorkerSeconds: optional(int({ min: 0, max: 604_800 })),
  allowedHosts: optional(array(str({ min: 1, max: 253 }), { max: 100 })),
  trustedProxies: optional(array(str({ min: 1, max: 64 }), { max: 100 })),
  loginAttemptsPerMinute: optional(int({ min: 1, max: 600 })),
  pushSubject: optional(str({ min: 1, max: 500 })),
  pushAllowedHosts: optional(array(str({ min: 1, max: 260 }), { max: 100 })),
  agentEnv: optional(array(str({ min: 1, max: 200 }), { max: 200 })),
  sandbox: optional(literal('on', 'off')),
  bwrapPath: optional(str({ min: 1, max: 4096 })),
});

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadedConfig {
  config: FileConfig;
  /** Keys the file has that CodePlane does not know (reported, not fatal). */
  unknownKeys: string[];
  created: boolean;
}

/** Reads config.json, creating it with the defaults on first start. Bad values stop startup with a clear message. */
export function loadConfig(file: string): LoadedConfig {
  if (!existsSync(file)) {
    writeFileSync(file, `${JSON.stringify({ maxConcurrentJobs: DEFAULT_CONFIG.maxConcurrentJobs, maxJobsPerRepo: DEFAULT_CONFIG.maxJobsPerRepo }, null, 2)}\n`, { mode: 0o600 });
    return { config: structuredClone(DEFAULT_CONFIG), unknownKeys: [], created: true };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file} is not valid JSON (${e instanceof Error ? e.message : String(e)}). Fix it or delete it to get the defaults.`);
  }
  const r = decode(record, raw);
  if (!r.ok) throw new ConfigError(`${file} must hold a JSON object.`);
  const unknownKeys = Object.keys(r.value).filter((k) => !KNOWN_KEYS.has(k));
  const d = decode(fileDecoder, raw);
  if (!d.ok) throw new ConfigError(`${file}: ${describe(d.error)}`);
  const v = d.value;
  try {
    new ClientKeys(v.trustedProxies ?? []);
  } catch (e) {
    if (e instanceof TrustedProxyError) throw new ConfigError(`${file}: "trustedProxies": ${e.message}`);
    throw e;
  }
  for (const entry of v.pushAllowedHosts ?? []) {
    try {
      canonicalHostPort(entry);
    } catch (e) {
      if (e instanceof PushHostsError) throw new ConfigError(`${file}: "pushAllowedHosts": ${e.message}`);
      throw e;
    }
  }
  for (const entry of v.agentEnv ?? []) {
    const why = agentEnvPatternError(entry);
    if (why) throw new ConfigError(`${file}: "agentEnv": ${JSON.stringify(entry)}: ${why}`);
  }
  return {
    config: {
      ...(v.worktreesDir ? { worktreesDir: v.worktreesDir } : {}),
      maxConcurrentJobs: v.maxConcurrentJobs ?? DEFAULT_CONFIG.maxConcurrentJobs,
      maxJobsPerRepo: v.maxJobsPerRepo ?? DEFAULT_CONFIG.maxJobsPerRepo,
      cleanupResolvedWorktrees: v.cleanupResolvedWorktrees ?? DEFAULT_CONFIG.cleanupResolvedWorktrees,
      setupCommands: v.setupCommands ?? {},
      approvalHoldsSlotSeconds: v.approvalHoldsSlotSeconds ?? DEFAULT_CONFIG.approvalHoldsSlotSeconds,
      agents: { claude: v.agents?.claude ?? {}, copilot: v.agents?.copilot ?? {} },
      agentWatchdogSeconds: v.agentWatchdogSeconds ?? DEFAULT_CONFIG.agentWatchdogSeconds,
      agentToolWatchdogSeconds: v.agentToolWatchdogSeconds ?? DEFAULT_CONFIG.agentToolWatchdogSeconds,
      workerNice: v.workerNice ?? DEFAULT_CONFIG.workerNice,
      idleWorkerSeconds: v.idleWorkerSeconds ?? DEFAULT_CONFIG.idleWorkerSeconds,
      allowedHosts: v.allowedHosts ?? [],
      trustedProxies: v.trustedProxies ?? [],
      loginAttemptsPerMinute: v.loginAttemptsPerMinute ?? DEFAULT_CONFIG.loginAttemptsPerMinute,
      ...(v.pushSubject ? { pushSubject: v.pushSubject } : {}),
      pushAllowedHosts: v.pushAllowedHosts ?? [],
      agentEnv: v.agentEnv ?? [],
      sandbox: v.sandbox ?? DEFAULT_CONFIG.sandbox,
      ...(v.bwrapPath ? { bwrapPath: v.bwrapPath } : {}),
    },
    unknownKeys,
    created: false,
  };
}

const describe = (e: DecodeError): string => `"${e.field}" must be ${e.expected}`;
