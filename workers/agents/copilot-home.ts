import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The Copilot runtime's data directory (COPILOT_HOME) for a job. The user's own `~/.copilot`
 * holds more than sessions: MCP servers the runtime starts for every session (observed with
 * runtime 1.0.85: a server in `mcp-config.json` is spawned in a job), custom agents, hooks,
 * settings. A job must not silently inherit them, so unless the user opted in it runs in a
 * directory of its own (kept with the job, so its sessions survive worker restarts and resume).
 *
 * Authentication keeps working: a token in the environment (COPILOT_GITHUB_TOKEN, GH_TOKEN,
 * GITHUB_TOKEN) and the `gh` CLI's login are found as before (HOME and the environment are
 * unchanged). A `copilot login` is kept in the OS keyring, found through the logged-in user
 * recorded in the home's `config.json` (and the token itself there when the user chose
 * plaintext storage): those entries, and only those, are copied from the user's home at each
 * start, so a re-login is picked up.
 */
export const AUTH_KEYS = [
  'lastLoggedInUser',
  'loggedInUsers',
  'copilotTokens',
  'authTokens',
  'storeTokenPlaintext',
  // The spelling of the same state in configs written by earlier CLI versions.
  'last_logged_in_user',
  'logged_in_users',
  'copilot_tokens',
  'store_token_plaintext',
] as const;

export interface CopilotHome {
  /** The COPILOT_HOME to give the runtime; undefined = the runtime's default (`~/.copilot`). */
  dir: string | undefined;
  /** Set when the job runs in its own directory: where authentication was copied from. */
  isolatedFrom?: string;
  /** Auth entries copied from the user's home (names only). */
  seeded: string[];
  /** Why the user's login could not be copied (the job may then be unauthenticated). */
  warning?: string;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

function readJsonObject(file: string): Rec | undefined {
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    // V8's message quotes the text, which may hold a token: never pass it on.
    if (err instanceof SyntaxError) throw new Error('it is not valid JSON');
    throw err;
  }
  if (!isRec(parsed)) throw new Error('it does not hold a JSON object');
  return parsed;
}

/** The user's own Copilot home: COPILOT_HOME, else ~/.copilot of the agent's HOME. */
export function userCopilotHome(env: Record<string, string | undefined>): string {
  const explicit = env.COPILOT_HOME?.trim();
  return explicit ? explicit : join(env.HOME?.trim() || homedir(), '.copilot');
}

/**
 * Decides the job's COPILOT_HOME and, when isolated, prepares it. `agentHome` absent (tests,
 * probes) or `userConfig` on: the user's own (env COPILOT_HOME or the default).
 */
export function prepareCopilotHome(opts: { env: Record<string, string | undefined>; userConfig?: boolean; agentHome?: string }): CopilotHome {
  const own = opts.env.COPILOT_HOME?.trim() || undefined;
  if (opts.userConfig || opts.agentHome === undefined) return { dir: own, seeded: [] };
  const source = userCopilotHome(opts.env);
  const target = opts.agentHome;
  mkdirSync(target, { recursive: true, mode: 0o700 });
  const home: CopilotHome = { dir: target, isolatedFrom: source, seeded: [] };
  try {
    const from = readJsonObject(join(source, 'config.json')) ?? {};
    const file = join(target, 'config.json');
    // The runtime writes its own state here too: keep it, replace only the auth entries.
    const to = readJsonObject(file) ?? {};
    for (const key of AUTH_KEYS) {
      if (key in from) {
        to[key] = from[key];
        home.seeded.push(key);
      } else delete to[key];
    }
    writeFileSync(file, `${JSON.stringify(to, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600); // an existing file keeps its mode on write
  } catch (err) {
    home.warning = `could not copy the Copilot login from ${join(source, 'config.json')}: ${err instanceof Error ? err.message : String(err)}`;
  }
  return home;
}
