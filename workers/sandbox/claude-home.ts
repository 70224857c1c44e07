import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The Claude CLI's config dir (CLAUDE_CONFIG_DIR) for a sandboxed job that does not load the
 * user's configuration: the job's own agent home, writable in the sandbox (sessions, settings
 * the CLI writes), while the user's `~/.claude` and `~/.claude.json` are hidden. The login is a
 * COPY, refreshed at each start: `.credentials.json` (the OAuth login on Linux) and the account
 * entries of `.claude.json`. An API key in the environment needs neither.
 */
export const CLAUDE_AUTH_KEYS = ['oauthAccount', 'userID', 'primaryApiKey', 'customApiKeyResponses', 'hasCompletedOnboarding'] as const;

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

function readObject(file: string): Rec | undefined {
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // V8's message quotes the text, which may hold a token: never pass it on.
    throw new Error(`${file} is not valid JSON`);
  }
  if (!isRec(parsed)) throw new Error(`${file} does not hold a JSON object`);
  return parsed;
}

export interface ClaudeHome {
  dir: string;
  /** What was copied from the user's login (names only). */
  seeded: string[];
  warning?: string;
}

/** Prepares `agentHome` as the CLI's config dir; `env` is the agent's (CLAUDE_CONFIG_DIR, HOME). */
export function prepareClaudeHome(agentHome: string, env: Record<string, string | undefined>): ClaudeHome {
  const userDir = env['CLAUDE_CONFIG_DIR']?.trim() || join(env['HOME']?.trim() || homedir(), '.claude');
  const userJson = env['CLAUDE_CONFIG_DIR']?.trim() ? join(userDir, '.claude.json') : join(env['HOME']?.trim() || homedir(), '.claude.json');
  const home: ClaudeHome = { dir: agentHome, seeded: [] };
  try {
    const creds = join(userDir, '.credentials.json');
    const ownCreds = join(agentHome, '.credentials.json');
    if (existsSync(creds)) {
      copyFileSync(creds, ownCreds);
      chmodSync(ownCreds, 0o600);
      home.seeded.push('.credentials.json');
    } else rmSync(ownCreds, { force: true }); // logged out since: so is the job
    const from = readObject(userJson) ?? {};
    const file = join(agentHome, '.claude.json');
    // The CLI keeps its own state there too: keep it, replace only the account entries.
    const to = readObject(file) ?? {};
    for (const key of CLAUDE_AUTH_KEYS) {
      if (key in from) {
        to[key] = from[key];
        home.seeded.push(key);
      } else delete to[key];
    }
    writeFileSync(file, `${JSON.stringify(to, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  } catch (err) {
    home.warning = `could not copy the Claude login from ${userDir}: ${err instanceof Error ? err.message : String(err)}`;
  }
  return home;
}
