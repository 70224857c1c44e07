/**
 * Can each agent run here? Finds the CLI (agent-binaries.ts), asks its version, and tells whether
 * the user is signed in — `true` only with evidence, `false` only when the agent itself says so,
 * otherwise `null` (unknown). Used by `GET /api/agents` and meant for `cpl doctor`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AgentInfo } from '../../api/contract.ts';
import { AGENT_IDS, type AgentId } from '../../machines/job-spec.ts';
import { findAgentBinary, isScript } from './agent-binaries.ts';
import { COPILOT_PROVIDER_ENV, ProbeStartFailure, withCopilotClient } from './copilot-probe.ts';

export interface AgentStatusOptions {
  /** The environment jobs run with (default: this process's). */
  env?: Record<string, string | undefined>;
  /** Config `agents.<id>.path`. */
  agentPaths?: Partial<Record<AgentId, string | undefined>>;
  /** Bound for `--version` and the Copilot runtime probe (default 10 s). */
  timeoutMs?: number;
  platform?: NodeJS.Platform;
}

export const AGENT_NAMES: Record<AgentId, string> = { claude: 'Claude Code', copilot: 'GitHub Copilot' };

const CLAUDE_KEYS = ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN'];
const CLAUDE_CLOUD = ['CLAUDE_CODE_USE_BEDROCK', 'CLAUDE_CODE_USE_VERTEX', 'CLAUDE_CODE_USE_FOUNDRY'];
const GITHUB_TOKENS = ['COPILOT_GITHUB_TOKEN', 'GH_TOKEN', 'GITHUB_TOKEN'];
const CLAUDE_LOGIN_HINT = 'run `claude login` (or `claude setup-token`), or set ANTHROPIC_API_KEY';
const COPILOT_LOGIN_HINT = 'run `copilot` and /login, or set COPILOT_GITHUB_TOKEN (or GH_TOKEN) to a token with Copilot access';

const set = (env: Record<string, string | undefined>, name: string): boolean => (env[name] ?? '').trim() !== '';

/** Every agent's status, in a stable order. */
export function agentStatuses(opts: AgentStatusOptions = {}): Promise<AgentInfo[]> {
  return Promise.all(AGENT_IDS.map((id) => agentStatus(id, opts)));
}

export function agentStatus(id: AgentId, opts: AgentStatusOptions = {}): Promise<AgentInfo> {
  return id === 'claude' ? claudeStatus(opts) : copilotStatus(opts);
}

async function claudeStatus(opts: AgentStatusOptions): Promise<AgentInfo> {
  const env = opts.env ?? process.env;
  const base = { id: 'claude' as const, name: AGENT_NAMES.claude };
  const auth = claudeAuth(env, opts.platform ?? process.platform);
  const bin = findAgentBinary('claude', { env, configPath: opts.agentPaths?.claude });
  if (!bin.found) return { ...base, available: false, authenticated: auth.authenticated, hint: bin.problem };
  const v = await cliVersion(bin.path, env, opts.timeoutMs ?? 10_000);
  if (!v.ok) return { ...base, available: false, authenticated: auth.authenticated, path: bin.path, hint: `the Claude CLI at ${bin.path} does not run: ${v.error}` };
  return { ...base, available: true, authenticated: auth.authenticated, path: bin.path, ...(v.version ? { version: v.version } : {}), ...(auth.hint ? { hint: auth.hint } : {}) };
}

/** Claude's sign-in, from what can be seen without asking the API: keys in the env, or the CLI's credentials files. */
export function claudeAuth(env: Record<string, string | undefined>, platform: NodeJS.Platform): { authenticated: boolean | null; hint?: string } {
  if (CLAUDE_KEYS.some((k) => set(env, k))) return { authenticated: true };
  const cloud = CLAUDE_CLOUD.find((k) => set(env, k));
  if (cloud) return { authenticated: null, hint: `${cloud} is set: the CLI uses that cloud's credentials, which CodePlane cannot check` };
  const home = env['HOME'] || homedir();
  const configDir = env['CLAUDE_CONFIG_DIR'] || join(home, '.claude');
  // Where the CLI keeps an OAuth login when there is no keychain (Linux, Windows, or macOS without one).
  if (existsSync(join(configDir, '.credentials.json'))) return { authenticated: true };
  // An API key saved by `claude login` with a Console account.
  for (const file of [join(configDir, '.claude.json'), join(home, '.claude.json')]) {
    try {
      const v = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      if (typeof v['primaryApiKey'] === 'string' && v['primaryApiKey'] !== '') return { authenticated: true };
    } catch {
      // absent or unreadable: no evidence either way
    }
  }
  if (platform === 'darwin') return { authenticated: null, hint: `a login in the macOS keychain cannot be checked; if jobs fail to authenticate, ${CLAUDE_LOGIN_HINT}` };
  return { authenticated: null, hint: `no credentials found: ${CLAUDE_LOGIN_HINT}` };
}

async function copilotStatus(opts: AgentStatusOptions): Promise<AgentInfo> {
  const env = opts.env ?? process.env;
  const base = { id: 'copilot' as const, name: AGENT_NAMES.copilot };
  const tokenInEnv = GITHUB_TOKENS.some((k) => set(env, k));
  const byok = set(env, COPILOT_PROVIDER_ENV);
  const fallback = byok || tokenInEnv ? true : null;
  const bin = findAgentBinary('copilot', { env, configPath: opts.agentPaths?.copilot });
  if (!bin.found) return { ...base, available: false, authenticated: fallback, hint: bin.problem };
  try {
    const { status, auth } = await withCopilotClient({ path: bin.path, env, timeoutMs: opts.timeoutMs ?? 10_000 }, async (c) => ({
      status: await c.getStatus(),
      auth: byok ? undefined : await c.getAuthStatus(),
    }));
    const authenticated = byok ? true : auth?.isAuthenticated === true;
    return {
      ...base,
      available: true,
      authenticated,
      path: bin.path,
      ...(status.version ? { version: status.version } : {}),
      ...(authenticated ? {} : { hint: `${auth?.statusMessage ? `${auth.statusMessage}: ` : 'not signed in: '}${COPILOT_LOGIN_HINT}` }),
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof ProbeStartFailure) return { ...base, available: false, authenticated: fallback, path: bin.path, hint: `the Copilot runtime at ${bin.path} does not start: ${message}` };
    // It started but did not answer in time: it is there; sign-in falls back to what the env shows.
    return { ...base, available: true, authenticated: fallback, path: bin.path, hint: `the Copilot runtime did not answer (${message})${fallback ? '' : `; to sign in, ${COPILOT_LOGIN_HINT}`}` };
  }
}

type VersionResult = { ok: true; version?: string } | { ok: false; error: string };
const versions = new Map<string, VersionResult>();

/** `<cli> --version`, bounded, cached per binary (path + modification time). */
export async function cliVersion(path: string, env: Record<string, string | undefined>, timeoutMs: number): Promise<VersionResult> {
  let key: string;
  try {
    key = `${path}:${statSync(path).mtimeMs}`;
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  const cached = versions.get(key);
  if (cached) return cached;
  const [cmd, args] = isScript(path) ? [process.execPath, [path, '--version']] : [path, ['--version']];
  const result = await new Promise<VersionResult>((resolve) => {
    execFile(cmd, args, { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const text = `${stdout}`.trim() || `${stderr}`.trim();
      if (err && (err as { killed?: boolean }).killed) return resolve({ ok: true }); // slow, not broken: no version
      if (err) return resolve({ ok: false, error: (text.split('\n')[0] ?? '') || err.message });
      const version = /\d+\.\d+\.\d+[\w.+-]*/.exec(text)?.[0] ?? (text.split('\n')[0] || undefined);
      resolve(version ? { ok: true, version } : { ok: true });
    });
  });
  if (result.ok && result.version) versions.set(key, result);
  return result;
}
