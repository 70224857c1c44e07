import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AppError } from '../../machines/app-error.ts';
import { toResponse } from '../../api/errors.ts';
import { findAgentBinary } from '../../supervisor/agents/agent-binaries.ts';
import { agentStatus, agentStatuses } from '../../supervisor/agents/agent-status.ts';
import { createAgentsPort } from '../../supervisor/agents/agents-port.ts';
import { FAKE_CLAUDE, ROOT } from '../helpers/server-process.ts';

const FAKE_COPILOT = join(ROOT, 'test/fixtures/fake-copilot');

/** An environment with nothing from the developer's shell that could sign an agent in. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const home = mkdtempSync(join(tmpdir(), 'cpl-agent-home-'));
  return { PATH: process.env['PATH'], HOME: home, COPILOT_HOME: join(home, '.copilot'), ...extra };
}

function script(body: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cpl-bin-')), 'broken-cli');
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const bundledClaude = findAgentBinary('claude', { env: {} });
const bundledCopilot = findAgentBinary('copilot', { env: {} });

describe('agent status: Claude', () => {
  it('finds the CLI from CODEPLANE_CLAUDE_PATH and reads its version; no credentials = unknown, with a hint', async () => {
    const s = await agentStatus('claude', { env: cleanEnv({ CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE }) });
    assert.equal(s.id, 'claude');
    assert.equal(s.name, 'Claude Code');
    assert.equal(s.available, true);
    assert.equal(s.version, '2.1.330-fake');
    assert.equal(s.path, FAKE_CLAUDE);
    assert.equal(s.authenticated, null, 'never false without proof');
    assert.match(s.hint ?? '', /claude login/);
    assert.match(s.hint ?? '', /ANTHROPIC_API_KEY/);
  });

  it('is signed in with an API key or token in the environment', async () => {
    for (const key of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN']) {
      const s = await agentStatus('claude', { env: cleanEnv({ CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE, [key]: 'x' }) });
      assert.equal(s.authenticated, true, key);
      assert.equal(s.hint, undefined);
    }
  });

  it("is signed in when the CLI's credentials file exists (in ~/.claude or CLAUDE_CONFIG_DIR)", async () => {
    const env = cleanEnv({ CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE });
    mkdirSync(join(env['HOME']!, '.claude'));
    writeFileSync(join(env['HOME']!, '.claude', '.credentials.json'), '{}');
    assert.equal((await agentStatus('claude', { env })).authenticated, true);
    const dir = mkdtempSync(join(tmpdir(), 'cpl-claude-config-'));
    writeFileSync(join(dir, '.credentials.json'), '{}');
    assert.equal((await agentStatus('claude', { env: cleanEnv({ CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE, CLAUDE_CONFIG_DIR: dir }) })).authenticated, true);
  });

  it('uses config agents.claude.path when the env does not say; the env wins over it', async () => {
    const s = await agentStatus('claude', { env: cleanEnv(), agentPaths: { claude: FAKE_CLAUDE } });
    assert.equal(s.path, FAKE_CLAUDE);
    const e = await agentStatus('claude', { env: cleanEnv({ CODEPLANE_CLAUDE_PATH: '/nonexistent/claude' }), agentPaths: { claude: FAKE_CLAUDE } });
    assert.equal(e.available, false);
  });

  it('is unavailable, with a hint naming the setting, when the configured binary is missing or does not run', async () => {
    const missing = await agentStatus('claude', { env: cleanEnv({ CODEPLANE_CLAUDE_PATH: '/nonexistent/claude' }) });
    assert.equal(missing.available, false);
    assert.match(missing.hint ?? '', /CODEPLANE_CLAUDE_PATH is \/nonexistent\/claude, which does not exist/);
    const broken = await agentStatus('claude', { env: cleanEnv({ CODEPLANE_CLAUDE_PATH: script('echo "bad interpreter" >&2; exit 3') }) });
    assert.equal(broken.available, false);
    assert.match(broken.hint ?? '', /does not run: bad interpreter/);
  });

  it('finds the binary bundled in the SDK platform package, and runs it for the version', { skip: !bundledClaude.found && 'the SDK platform package is not installed' }, async () => {
    assert.ok(bundledClaude.found);
    assert.match(bundledClaude.path, /@anthropic-ai\/claude-agent-sdk-(linux|darwin|win32)-[a-z0-9]+(-musl)?\/claude(\.exe)?$/);
    const s = await agentStatus('claude', { env: cleanEnv() });
    assert.equal(s.available, true);
    assert.match(s.version ?? '', /^\d+\.\d+\.\d+/);
  });

  it('prefers the musl build on musl, as the SDK does, and explains a platform with no build', () => {
    const r = findAgentBinary('claude', { env: {}, platform: 'linux', arch: 'x64', musl: true });
    if (bundledClaude.found && r.found) assert.ok(r.path.endsWith('claude'), 'falls back to the glibc build when no musl one is installed');
    const none = findAgentBinary('claude', { env: {}, platform: 'aix', arch: 'ppc64' });
    assert.equal(none.found, false);
    assert.match(none.found ? '' : none.problem, /aix-ppc64.*CODEPLANE_CLAUDE_PATH/);
  });
});

describe('agent status: Copilot', () => {
  it('asks the runtime through the SDK: version and sign-in', async () => {
    const s = await agentStatus('copilot', { env: cleanEnv({ CODEPLANE_COPILOT_PATH: FAKE_COPILOT }) });
    assert.deepEqual({ ...s, path: undefined }, { id: 'copilot', name: 'GitHub Copilot', available: true, authenticated: true, version: '1.0.85-fake', path: undefined });
  });

  it('reports false, with a hint, when the runtime says the user is not signed in', async () => {
    const s = await agentStatus('copilot', { env: cleanEnv({ CODEPLANE_COPILOT_PATH: FAKE_COPILOT, FAKE_COPILOT_UNAUTHENTICATED: '1' }) });
    assert.equal(s.available, true);
    assert.equal(s.authenticated, false);
    assert.match(s.hint ?? '', /\/login/);
  });

  it('a BYOK provider needs no GitHub sign-in', async () => {
    const s = await agentStatus('copilot', {
      env: cleanEnv({ CODEPLANE_COPILOT_PATH: FAKE_COPILOT, FAKE_COPILOT_UNAUTHENTICATED: '1', CODEPLANE_COPILOT_PROVIDER: '{"type":"anthropic","baseUrl":"http://127.0.0.1:9"}' }),
    });
    assert.equal(s.authenticated, true);
    assert.equal(s.hint, undefined);
  });

  it('a runtime that does not start is unavailable; sign-in then falls back to the tokens in the env', async () => {
    const s = await agentStatus('copilot', { env: cleanEnv({ CODEPLANE_COPILOT_PATH: script('exit 2'), GH_TOKEN: 'x' }) });
    assert.equal(s.available, false);
    assert.equal(s.authenticated, true);
    assert.match(s.hint ?? '', /does not start/);
    const missing = await agentStatus('copilot', { env: cleanEnv({ CODEPLANE_COPILOT_PATH: '/nonexistent/copilot' }) });
    assert.equal(missing.available, false);
    assert.equal(missing.authenticated, null);
  });

  it('finds and starts the runtime bundled in the SDK platform package', { skip: !bundledCopilot.found && 'the SDK platform package is not installed' }, async () => {
    assert.ok(bundledCopilot.found);
    assert.match(bundledCopilot.path, /@github\/copilot-sdk-(linux|linuxmusl|darwin|win32)-[a-z0-9]+\/prebuilds\/.+\/copilot-runtime(\.exe)?$/);
    const s = await agentStatus('copilot', { env: cleanEnv() });
    assert.equal(s.available, true, s.hint);
    assert.match(s.version ?? '', /^\d+\.\d+\.\d+/);
    assert.equal(s.authenticated, false, 'a fresh HOME has no GitHub login');
  });

  it('lists both agents in a stable order', async () => {
    const all = await agentStatuses({ env: cleanEnv({ CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE, CODEPLANE_COPILOT_PATH: FAKE_COPILOT }) });
    assert.deepEqual(all.map((a) => a.id), ['claude', 'copilot']);
  });
});

describe('the agents port: models, caches and errors', () => {
  it('reads Claude models from the CLI initialize reply and caches them for 10 minutes', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'cpl-spawns-')), 'spawns.log');
    let t = 0;
    const port = createAgentsPort({ env: cleanEnv({ CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE, FAKE_CLAUDE_SPAWN_LOG: log }), now: () => t });
    const spawns = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);
    const models = await port.models('claude');
    assert.deepEqual(models, [
      { id: 'claude-sonnet-4-5', name: 'Sonnet 4.5' },
      { id: 'claude-opus-4-1', name: 'Opus 4.1' },
    ]);
    assert.equal(spawns().length, 1);
    for (const pid of spawns()) assert.throws(() => process.kill(Number(pid), 0), 'the probe CLI is gone');
    t += 9 * 60_000;
    assert.deepEqual(await port.models('claude'), models);
    assert.equal(spawns().length, 1, 'served from the cache');
    t += 2 * 60_000;
    await port.models('claude');
    assert.equal(spawns().length, 2, 'asked again after 10 minutes');
  });

  it('lists Copilot models through the SDK', async () => {
    const port = createAgentsPort({ env: cleanEnv({ CODEPLANE_COPILOT_PATH: FAKE_COPILOT }) });
    assert.deepEqual(await port.models('copilot'), [
      { id: 'claude-sonnet-4.5', name: 'claude-sonnet-4.5' },
      { id: 'gpt-5', name: 'gpt-5' },
    ]);
  });

  it('an unknown, unavailable or signed-out agent is a clear 404/503/409, never a 500', async () => {
    const port = createAgentsPort({ env: cleanEnv({ CODEPLANE_CLAUDE_PATH: '/nonexistent/claude', CODEPLANE_COPILOT_PATH: FAKE_COPILOT, FAKE_COPILOT_UNAUTHENTICATED: '1' }) });
    const answer = async (id: string) => {
      const err = await port.models(id).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof AppError, String(err));
      return toResponse(err);
    };
    const unknown = await answer('gemini');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'AGENT_NOT_FOUND');
    const claude = await answer('claude');
    assert.equal(claude.status, 503);
    assert.equal(claude.body.error.code, 'AGENT_UNAVAILABLE');
    assert.match(String(claude.body.error.details?.['hint']), /CODEPLANE_CLAUDE_PATH/);
    const copilot = await answer('copilot');
    assert.equal(copilot.status, 409);
    assert.equal(copilot.body.error.code, 'AGENT_NOT_AUTHENTICATED');
    assert.match(String(copilot.body.error.details?.['hint']), /\/login/);
  });

  it('a CLI that fails while listing models is AGENT_UNAVAILABLE, and is not cached', async () => {
    const env = cleanEnv({ CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE, FAKE_CLAUDE_STARTUP_FAIL: '1' });
    const port = createAgentsPort({ env, timeoutMs: 5000 });
    const err = await port.models('claude').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof AppError);
    assert.equal(toResponse(err).status, 503);
    assert.equal(err.code, 'AGENT_UNAVAILABLE');
    env['FAKE_CLAUDE_STARTUP_FAIL'] = '0';
    assert.equal((await port.models('claude')).length, 2);
  });
});
