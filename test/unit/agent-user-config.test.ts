import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../supervisor/config.ts';
import { prepareCopilotHome } from '../../workers/agents/copilot-home.ts';
import { userConfigFor } from '../../workers/agents/registry.ts';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'cpl-user-config-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe("the user's own agent configuration is opt-in", () => {
  it('config: agents.<agent>.userConfig and agentToolWatchdogSeconds are documented keys with defaults', () => {
    const dir = tmp();
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ agents: { copilot: { userConfig: true } }, agentToolWatchdogSeconds: 120 }));
    const { config, unknownKeys } = loadConfig(file);
    assert.deepEqual(unknownKeys, []);
    assert.equal(config.agents.copilot.userConfig, true);
    assert.equal(config.agents.claude.userConfig, undefined, 'off unless set');
    assert.equal(config.agentToolWatchdogSeconds, 120);
    writeFileSync(file, JSON.stringify({}));
    assert.equal(loadConfig(file).config.agentToolWatchdogSeconds, 1800);
    writeFileSync(file, JSON.stringify({ agents: { claude: { userConfig: 'yes' } } }));
    assert.throws(() => loadConfig(file), (e: Error) => e instanceof ConfigError && /agents\.claude\.userConfig/.test(e.message));
  });

  it('the worker reads the opt-in per agent from the environment the supervisor exports', () => {
    const saved = { ...process.env };
    try {
      process.env['CODEPLANE_COPILOT_USER_CONFIG'] = '1';
      delete process.env['CODEPLANE_CLAUDE_USER_CONFIG'];
      assert.equal(userConfigFor('copilot'), true);
      assert.equal(userConfigFor('claude'), false);
      process.env['CODEPLANE_CLAUDE_USER_CONFIG'] = '0';
      assert.equal(userConfigFor('claude'), false);
    } finally {
      process.env = saved;
    }
  });

  it("Copilot: a job gets its own COPILOT_HOME holding only the user's login, refreshed at each start", () => {
    const home = tmp();
    const userHome = join(home, '.copilot');
    mkdirSync(userHome);
    const login = { host: 'https://github.com', login: 'octo' };
    writeFileSync(join(userHome, 'config.json'), JSON.stringify({ lastLoggedInUser: login, loggedInUsers: [login], trustedFolders: ['/'], allowedUrls: ['*'] }));
    writeFileSync(join(userHome, 'mcp-config.json'), '{"mcpServers":{}}');
    const agentHome = join(tmp(), 'jobs', 'j1', 'agent-home');

    const first = prepareCopilotHome({ env: { HOME: home }, agentHome });
    assert.equal(first.dir, agentHome);
    assert.equal(first.isolatedFrom, userHome);
    assert.deepEqual(first.seeded.sort(), ['lastLoggedInUser', 'loggedInUsers']);
    assert.deepEqual(readJson(join(agentHome, 'config.json')), { lastLoggedInUser: login, loggedInUsers: [login] });
    assert.equal(statSync(join(agentHome, 'config.json')).mode & 0o777, 0o600);
    assert.equal(existsSync(join(agentHome, 'mcp-config.json')), false, 'nothing else of the user home');

    // The runtime keeps state of its own there; a re-login (or logout) in the user's home is picked up.
    writeFileSync(join(agentHome, 'config.json'), JSON.stringify({ ...readJson(join(agentHome, 'config.json')), firstLaunchAt: 'x' }));
    writeFileSync(join(userHome, 'config.json'), JSON.stringify({ last_logged_in_user: { ...login, login: 'other' } }));
    prepareCopilotHome({ env: { HOME: home }, agentHome });
    assert.deepEqual(readJson(join(agentHome, 'config.json')), { firstLaunchAt: 'x', last_logged_in_user: { ...login, login: 'other' } });
  });

  it('Copilot: the user home follows COPILOT_HOME; opting in (or no job directory) uses it as is', () => {
    const own = tmp();
    writeFileSync(join(own, 'config.json'), JSON.stringify({ lastLoggedInUser: { login: 'octo' } }));
    const agentHome = join(tmp(), 'agent-home');
    assert.deepEqual(prepareCopilotHome({ env: { HOME: '/nonexistent', COPILOT_HOME: own }, agentHome }).seeded, ['lastLoggedInUser']);
    assert.deepEqual(prepareCopilotHome({ env: { COPILOT_HOME: own }, agentHome, userConfig: true }), { dir: own, seeded: [] });
    assert.deepEqual(prepareCopilotHome({ env: {} }), { dir: undefined, seeded: [] });
  });

  it('Copilot: an unreadable user config is reported without quoting it (it may hold a token), and the job still gets its own home', () => {
    const home = tmp();
    mkdirSync(join(home, '.copilot'));
    writeFileSync(join(home, '.copilot', 'config.json'), '{"copilotTokens": {"x": "gho_secret"},');
    const agentHome = join(tmp(), 'agent-home');
    const r = prepareCopilotHome({ env: { HOME: home }, agentHome });
    assert.equal(r.dir, agentHome);
    assert.match(r.warning ?? '', /not valid JSON/);
    assert.doesNotMatch(r.warning ?? '', /gho_secret/);
  });
});
