import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AgentInfo, AgentModel } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, ROOT, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const FAKE_COPILOT = join(ROOT, 'test/fixtures/fake-copilot');
/** Nothing from the developer's shell may sign an agent in. */
const NO_CREDENTIALS = { ANTHROPIC_API_KEY: '', ANTHROPIC_AUTH_TOKEN: '', CLAUDE_CODE_OAUTH_TOKEN: '', GH_TOKEN: '', GITHUB_TOKEN: '', COPILOT_GITHUB_TOKEN: '' };

type ErrorBody = { error: { code: string; message: string; details?: { hint?: string } } };

describe('GET /api/agents and /api/agents/:id/models through the real server', () => {
  let server: ServerProcess;
  let broken: ServerProcess;

  before(async () => {
    const repo = makeRepo();
    [server, broken] = await Promise.all([
      startServerProcess({ cwd: repo, env: { ...NO_CREDENTIALS, CODEPLANE_COPILOT_PATH: FAKE_COPILOT, ANTHROPIC_API_KEY: 'sk-test' } }),
      startServerProcess({ cwd: repo, env: { ...NO_CREDENTIALS, CODEPLANE_CLAUDE_PATH: '/nonexistent/claude', CODEPLANE_COPILOT_PATH: FAKE_COPILOT, FAKE_COPILOT_UNAUTHENTICATED: '1' } }),
    ]);
  });
  after(async () => {
    await Promise.all([server?.stop(), broken?.stop()]);
  });

  it('lists both agents: found, version, signed in', async () => {
    const { status, body } = await api<AgentInfo[]>(server.url, 'GET', '/api/agents');
    assert.equal(status, 200);
    assert.deepEqual(
      body.map(({ id, name, available, authenticated, version }) => ({ id, name, available, authenticated, version })),
      [
        { id: 'claude', name: 'Claude Code', available: true, authenticated: true, version: '2.1.330-fake' },
        { id: 'copilot', name: 'GitHub Copilot', available: true, authenticated: true, version: '1.0.85-fake' },
      ],
    );
    assert.ok(body.every((a) => a.hint === undefined));
  });

  it("lists each agent's models", async () => {
    const claude = await api<AgentModel[]>(server.url, 'GET', '/api/agents/claude/models');
    assert.equal(claude.status, 200);
    assert.deepEqual(claude.body, [
      { id: 'claude-sonnet-4-5', name: 'Sonnet 4.5' },
      { id: 'claude-opus-4-1', name: 'Opus 4.1' },
    ]);
    const copilot = await api<AgentModel[]>(server.url, 'GET', '/api/agents/copilot/models');
    assert.equal(copilot.status, 200);
    assert.deepEqual(copilot.body.map((m) => m.id), ['claude-sonnet-4.5', 'gpt-5']);
    const unknown = await api<ErrorBody>(server.url, 'GET', '/api/agents/gemini/models');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'AGENT_NOT_FOUND');
  });

  it('says what is wrong, with a hint, when an agent is missing or signed out', async () => {
    const { body } = await api<AgentInfo[]>(broken.url, 'GET', '/api/agents');
    const [claude, copilot] = body;
    assert.equal(claude?.available, false);
    assert.match(claude?.hint ?? '', /CODEPLANE_CLAUDE_PATH/);
    assert.equal(copilot?.available, true);
    assert.equal(copilot?.authenticated, false);
    assert.match(copilot?.hint ?? '', /\/login/);

    const noClaude = await api<ErrorBody>(broken.url, 'GET', '/api/agents/claude/models');
    assert.equal(noClaude.status, 503);
    assert.equal(noClaude.body.error.code, 'AGENT_UNAVAILABLE');
    assert.match(noClaude.body.error.details?.hint ?? '', /CODEPLANE_CLAUDE_PATH/);
    const signedOut = await api<ErrorBody>(broken.url, 'GET', '/api/agents/copilot/models');
    assert.equal(signedOut.status, 409);
    assert.equal(signedOut.body.error.code, 'AGENT_NOT_AUTHENTICATED');
    assert.match(signedOut.body.error.details?.hint ?? '', /\/login/);
  });
});
