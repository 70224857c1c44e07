import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_ENV_VAR, agentEnvFrom, agentEnvPatternError, agentEnvPatternsFrom, workerEnvFrom } from '../../machines/agent-env.ts';
import { agentEnvForJob } from '../../workers/agent-env-for-job.ts';
import { loadConfig } from '../../supervisor/config.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

/** A server environment as a user's shell leaves it: the basics, agent credentials, and secrets that are nobody's business. */
const SERVER: Record<string, string> = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/u',
  USER: 'u',
  LOGNAME: 'u',
  SHELL: '/bin/bash',
  LANG: 'en_US.UTF-8',
  LC_ALL: 'C.UTF-8',
  LC_TIME: 'de_DE.UTF-8',
  TZ: 'Europe/Berlin',
  TERM: 'xterm-256color',
  COLORTERM: 'truecolor',
  TMPDIR: '/tmp/u',
  HTTPS_PROXY: 'http://proxy:3128',
  https_proxy: 'http://proxy:3128',
  NO_PROXY: 'localhost',
  no_proxy: 'localhost',
  NODE_EXTRA_CA_CERTS: '/etc/ca.pem',
  ANTHROPIC_API_KEY: 'sk-ant-api03-xyz',
  ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
  CLAUDE_CONFIG_DIR: '/home/u/.claude',
  COPILOT_GITHUB_TOKEN: 'gho_abc',
  GH_TOKEN: 'ghp_x',
  GITHUB_TOKEN: 'ghp_y',
  CPL_PASSWORD: 'hunter22hunter22',
  cpl_password: 'lower-case too',
  CPL_LOG_LEVEL: 'debug',
  CODEPLANE_SOMETHING: 'internal',
  CODEPLANE_HOME: '/home/u/.codeplane',
  CODEPLANE_CLAUDE_PATH: '/opt/claude',
  CODEPLANE_COPILOT_PROVIDER: '{"type":"openai","baseUrl":"http://x","apiKey":"sk-byok"}',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  DATABASE_URL: 'postgres://u:p@db/x',
  NODE_OPTIONS: '--require /tmp/evil.js',
  LD_PRELOAD: '/tmp/evil.so',
  BASH_ENV: '/tmp/evil.sh',
  JAVA_HOME: '/usr/lib/jvm',
  SSH_AUTH_SOCK: '/run/u/ssh-agent',
};

describe('the agent environment: an allow-list', () => {
  const agent = agentEnvFrom(SERVER);
  it('passes the basics, locale, terminal, proxies, CA bundles and the agents\' credentials', () => {
    for (const k of ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'LC_TIME', 'TZ', 'TERM', 'COLORTERM', 'TMPDIR', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy', 'NODE_EXTRA_CA_CERTS', 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'CLAUDE_CONFIG_DIR', 'COPILOT_GITHUB_TOKEN', 'GH_TOKEN', 'GITHUB_TOKEN'])
      assert.equal(agent[k], SERVER[k], k);
  });
  it('drops CodePlane\'s own variables, cloud keys, other secrets, the SSH agent and code-loading variables', () => {
    for (const k of ['CPL_PASSWORD', 'cpl_password', 'CPL_LOG_LEVEL', 'CODEPLANE_SOMETHING', 'CODEPLANE_HOME', 'CODEPLANE_CLAUDE_PATH', 'CODEPLANE_COPILOT_PROVIDER', 'AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'DATABASE_URL', 'NODE_OPTIONS', 'LD_PRELOAD', 'BASH_ENV', 'JAVA_HOME', 'SSH_AUTH_SOCK'])
      assert.equal(k in agent, false, k);
  });
  it('adds what the user lists: exact names and prefixes', () => {
    const e = agentEnvFrom(SERVER, ['JAVA_HOME', 'AWS_*']);
    assert.equal(e['JAVA_HOME'], '/usr/lib/jvm');
    assert.equal(e['AWS_SECRET_ACCESS_KEY'], SERVER['AWS_SECRET_ACCESS_KEY']);
    assert.equal(e['AWS_ACCESS_KEY_ID'], SERVER['AWS_ACCESS_KEY_ID']);
    assert.equal('DATABASE_URL' in e, false);
  });
  it('never lets a pattern reach CodePlane\'s variables, even one that was not validated', () => {
    const e = agentEnvFrom(SERVER, ['C*', 'CPL_PASSWORD', 'CODEPLANE_*', '*', 'cpl_password']);
    for (const k of Object.keys(e)) assert.doesNotMatch(k, /^(cpl|codeplane)_/i);
    assert.equal('DATABASE_URL' in e, false, 'a bare * is ignored');
  });
  it('a code-loading variable needs its exact name: a prefix pattern is not enough', () => {
    assert.equal('NODE_OPTIONS' in agentEnvFrom(SERVER, ['NODE_*', 'N*']), false);
    assert.equal('LD_PRELOAD' in agentEnvFrom(SERVER, ['LD_*']), false);
    assert.equal(agentEnvFrom(SERVER, ['NODE_OPTIONS'])['NODE_OPTIONS'], SERVER['NODE_OPTIONS']);
  });
  it('skips unset variables', () => {
    assert.deepEqual(agentEnvFrom({ PATH: undefined, HOME: '/h' }), { HOME: '/h' });
  });
});

describe('the worker environment', () => {
  const worker = workerEnvFrom(SERVER, ['JAVA_HOME'], { CODEPLANE_WATCHDOG_MS: '1000' });
  it('has the agent\'s set, the server\'s runtime and the CodePlane variables the worker reads', () => {
    for (const k of ['PATH', 'HOME', 'ANTHROPIC_API_KEY', 'JAVA_HOME', 'NODE_OPTIONS', 'LD_PRELOAD', 'CODEPLANE_HOME', 'CODEPLANE_CLAUDE_PATH', 'CODEPLANE_COPILOT_PROVIDER', 'CPL_LOG_LEVEL'])
      assert.equal(worker[k], SERVER[k], k);
    assert.equal(worker['CODEPLANE_WATCHDOG_MS'], '1000');
    assert.deepEqual(JSON.parse(worker[AGENT_ENV_VAR]!), ['JAVA_HOME']);
  });
  it("passes the sandbox's settings to the worker, never to the agent", () => {
    const env: Record<string, string> = { ...SERVER, CODEPLANE_SANDBOX: 'on', CODEPLANE_BWRAP: '/usr/bin/bwrap', CODEPLANE_WORKTREES_DIR: '/w' };
    const w = workerEnvFrom(env);
    for (const k of ['CODEPLANE_SANDBOX', 'CODEPLANE_BWRAP', 'CODEPLANE_WORKTREES_DIR']) {
      assert.equal(w[k], env[k], k);
      assert.equal(k in agentEnvForJob('claude', w), false, k);
    }
  });
  it('never has the login password, other CodePlane variables or unlisted secrets', () => {
    for (const k of ['CPL_PASSWORD', 'cpl_password', 'CODEPLANE_SOMETHING', 'AWS_SECRET_ACCESS_KEY', 'DATABASE_URL', 'BASH_ENV', 'SSH_AUTH_SOCK']) assert.equal(k in worker, false, k);
  });
  it('a server variable named like the patterns variable does not smuggle patterns in', () => {
    const w = workerEnvFrom({ ...SERVER, [AGENT_ENV_VAR]: '["DATABASE_URL"]' }, []);
    assert.equal(AGENT_ENV_VAR in w, false);
  });
  it('the worker computes the same agent environment the server would, from its own', () => {
    for (const agentId of ['claude', 'copilot'] as const) {
      const fromWorker = agentEnvForJob(agentId, worker);
      const expected = agentEnvFrom(SERVER, ['JAVA_HOME']);
      for (const [k, v] of Object.entries(expected)) assert.equal(fromWorker[k], v, k);
      for (const k of Object.keys(fromWorker)) assert.ok(k in expected || k === 'CLAUDE_BASH_MAINTAIN_PROJECT_WORKING_DIR' || (agentId === 'copilot' && k === 'CODEPLANE_COPILOT_PROVIDER'), `${agentId}: ${k}`);
    }
    assert.equal('CODEPLANE_COPILOT_PROVIDER' in agentEnvForJob('claude', worker), false, 'claude never sees the Copilot key');
    assert.equal(agentEnvForJob('claude', worker)['CLAUDE_BASH_MAINTAIN_PROJECT_WORKING_DIR'], '1');
  });
  it('patterns handed over malformed or invalid are ignored', () => {
    assert.deepEqual(agentEnvPatternsFrom({ [AGENT_ENV_VAR]: 'not json' }), []);
    assert.deepEqual(agentEnvPatternsFrom({ [AGENT_ENV_VAR]: '{"a":1}' }), []);
    assert.deepEqual(agentEnvPatternsFrom({ [AGENT_ENV_VAR]: '["A_*", 3, "*", "CPL_PASSWORD", "B"]' }), ['A_*', 'B']);
  });
});

describe('config agentEnv', () => {
  const table: [string, boolean][] = [
    ['JAVA_HOME', true],
    ['AWS_*', true],
    ['_X', true],
    ['*', false],
    ['', false],
    ['A B', false],
    ['A*B', false],
    ['A**', false],
    ['$(id)', false],
    ['CPL_PASSWORD', false],
    ['CPL_*', false],
    ['codeplane_home', false],
    ['1ABC', false],
  ];
  for (const [pattern, ok] of table)
    it(`${JSON.stringify(pattern)} is ${ok ? 'accepted' : 'refused'}`, () => assert.equal(agentEnvPatternError(pattern) === undefined, ok, agentEnvPatternError(pattern)));
  it('a bad entry stops startup naming it; a good list loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpl-agentenv-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ agentEnv: ['JAVA_HOME', 'CPL_*'] }));
    assert.throws(() => loadConfig(file), /"agentEnv": "CPL_\*": CodePlane's own variables/);
    writeFileSync(file, JSON.stringify({ agentEnv: 'JAVA_HOME' }));
    assert.throws(() => loadConfig(file), /"agentEnv" must be/);
    writeFileSync(file, JSON.stringify({ agentEnv: ['JAVA_HOME', 'AWS_*'] }));
    const { config, unknownKeys } = loadConfig(file);
    assert.deepEqual(config.agentEnv, ['JAVA_HOME', 'AWS_*']);
    assert.deepEqual(unknownKeys, []);
  });
});
