/**
 * The idle server holds no agent SDK: the Claude Agent SDK and the Copilot SDK are about 40 MB of
 * resident memory together, and the server needs them only to probe an agent or list its models
 * (the job workers hold their own). Nor ws, which only a terminal needs (start-up time). A module
 * resolution hook, registered before `cpl up` starts, records every such module the server
 * process resolves.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const LAZY = /\/node_modules\/(@anthropic-ai\/claude-agent-sdk|@github\/copilot-sdk|ws)\//;

/** `--import` of this registers a resolve hook that appends each such module's URL to `log`. */
function hookArgs(log: string): string[] {
  const hooks = `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  if (${LAZY}.test(r.url)) appendFileSync(log, r.url + '\\n');
  return r;
}`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)}, { data: ${JSON.stringify({ log })} });`;
  return ['--import', `data:text/javascript,${encodeURIComponent(register)}`];
}

const loaded = (log: string): string[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);

describe('the idle server does not load the agent SDKs', () => {
  let server: ServerProcess;
  const log = join(mkdtempSync(join(tmpdir(), 'cpl-modules-')), 'sdk-modules.txt');

  before(async () => {
    server = await startServerProcess({ cwd: makeRepo(), nodeArgs: hookArgs(log), env: { ANTHROPIC_API_KEY: 'sk-test' } });
  });
  after(async () => {
    await server?.stop();
  });

  it('started, serving the API and the UI and running a job to review: no SDK (and no ws) module resolved by the server', async () => {
    assert.equal((await api(server.url, 'GET', '/api/health')).status, 200);
    assert.equal((await fetch(`${server.url}/`)).status, 200);
    const repos = (await api<{ path: string }[]>(server.url, 'GET', '/api/repos')).body;
    const created = await api<Job>(server.url, 'POST', '/api/jobs', { repo: repos[0]!.path, agent: 'claude', prompt: 'hello', permissionMode: 'full_auto' });
    assert.equal(created.status, 201);
    const deadline = performance.now() + 120_000;
    for (;;) {
      const job = (await api<Job>(server.url, 'GET', `/api/jobs/${created.body.id}`)).body;
      if (job.state === 'review') break;
      assert.notEqual(job.state, 'failed', job.failureReason);
      assert.ok(performance.now() < deadline, `the job is still ${job.state}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // The job's worker loaded the Claude SDK in its own process; the server did not.
    assert.deepEqual(loaded(log), []);
  });

  it('and loads one on first use: listing the Claude models resolves the Claude SDK (the hook sees what it should)', async () => {
    const models = await api<{ id: string }[]>(server.url, 'GET', '/api/agents/claude/models');
    assert.equal(models.status, 200, JSON.stringify(models.body));
    const urls = loaded(log);
    assert.ok(urls.some((u) => u.includes('/@anthropic-ai/claude-agent-sdk/')), urls.join('\n'));
    assert.ok(!urls.some((u) => u.includes('/@github/copilot-sdk/')), urls.join('\n'));
  });
});
