import { after, before, describe, it } from 'node:test';
import { AGENTS, MAIN_TOOL_WATCHDOG_MS, MAIN_WATCHDOG_MS, SCENARIOS, SHORT_TOOL_WATCHDOG_MS, SHORT_WATCHDOG_MS, type Scenario } from '../helpers/agent-scenarios.ts';
import { IDLE_PARK_MS, IDLE_SCENARIOS } from '../helpers/idle-scenarios.ts';
import { ScenarioServer } from '../helpers/scenario-server.ts';
import { FAKE_CLAUDE, ROOT } from '../helpers/server-process.ts';
import { join } from 'node:path';

/**
 * "Both agents pass the same scenario suite" (issue 3): each scenario of
 * test/helpers/agent-scenarios.ts runs once per agent, end to end through the real server, its
 * job workers and the protocol-faithful fake CLIs, with the same assertions.
 */
const FAKE_COPILOT = join(ROOT, 'test/fixtures/fake-copilot');
type ServerKind = NonNullable<Scenario['server']>;

const SERVER_ENV: Record<ServerKind, NodeJS.ProcessEnv> = {
  main: {
    CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE,
    CODEPLANE_COPILOT_PATH: FAKE_COPILOT,
    CODEPLANE_WATCHDOG_MS: String(MAIN_WATCHDOG_MS),
    CODEPLANE_TOOL_WATCHDOG_MS: String(MAIN_TOOL_WATCHDOG_MS),
  },
  'bad-path': { CODEPLANE_CLAUDE_PATH: '/nonexistent/claude', CODEPLANE_COPILOT_PATH: '/nonexistent/copilot' },
  'exits-at-once': { CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE, CODEPLANE_COPILOT_PATH: FAKE_COPILOT, FAKE_CLAUDE_STARTUP_FAIL: '1', FAKE_COPILOT_STARTUP_FAIL: '1' },
  'short-tool-limit': {
    CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE,
    CODEPLANE_COPILOT_PATH: FAKE_COPILOT,
    CODEPLANE_WATCHDOG_MS: String(SHORT_WATCHDOG_MS),
    CODEPLANE_TOOL_WATCHDOG_MS: String(SHORT_TOOL_WATCHDOG_MS),
  },
  'idle-park': { CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE, CODEPLANE_COPILOT_PATH: FAKE_COPILOT, CODEPLANE_IDLE_WORKER_MS: String(IDLE_PARK_MS) },
};
/** The fakes' knobs are not in the agent's environment allow-list: this server's config lists them. */
const SERVER_CONFIG: Partial<Record<ServerKind, Record<string, unknown>>> = { 'exits-at-once': { agentEnv: ['FAKE_*'] } };
const ALL_SCENARIOS = [...SCENARIOS, ...IDLE_SCENARIOS];

describe('agent scenarios: claude and copilot through the real server', () => {
  const servers = new Map<ServerKind, ScenarioServer>();
  before(async () => {
    // Started side by side: a server start is mostly waiting.
    const kinds = [...new Set(ALL_SCENARIOS.map((s) => s.server ?? 'main'))];
    const started = await Promise.allSettled(kinds.map(async (k) => servers.set(k, await ScenarioServer.start(SERVER_ENV[k], SERVER_CONFIG[k]))));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
  after(async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
  });

  for (const scenario of ALL_SCENARIOS) {
    describe(scenario.name, () => {
      for (const agent of AGENTS) {
        it(agent.id, { timeout: 180_000 }, async () => {
          const server = servers.get(scenario.server ?? 'main');
          if (!server) throw new Error(`no ${scenario.server ?? 'main'} server`);
          await scenario.run(server, agent);
        });
      }
    });
  }
});
