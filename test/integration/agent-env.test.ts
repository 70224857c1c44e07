/**
 * Issue 13 item 4: what of the server's environment reaches an agent. A real server started
 * with the login password, CodePlane variables and a cloud secret in its environment runs a job
 * in observe_only whose agent (the fake claude) runs `printenv` for real: none of them is in
 * its output, nor in its worker's environment; a variable the user listed in `agentEnv`, and
 * the agent's own credential, are (the credential's value redacted from the stored transcript).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Approval, Job, LogLine, TranscriptEntry } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { waitFor, workerPid } from '../helpers/processes.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

const PASSWORD = 'env-test-login-password-4711';
const SECRETS = {
  CPL_PASSWORD: PASSWORD,
  CODEPLANE_SOMETHING: 'codeplane-internal-value-0815',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY42',
  DATABASE_URL: 'postgres://admin:db-password-1234@db.internal/prod',
};
const ANTHROPIC_API_KEY = 'sk-ant-api03-envtest-0123456789abcdefghijklmnop';
const STEP_MS = 180_000;
const SETUP_TOKEN = `ghp_${'Zx9'.repeat(12)}`;

describe('issue 13: the agent environment is an allow-list', () => {
  let server: ServerProcess;
  let repo: string;
  let home: string;
  let cookie = '';
  const call = <T>(method: string, path: string, body?: unknown) => api<T>(server.url, method, path, body, { cookie });

  before(async () => {
    repo = makeRepo('cpl-env-repo-');
    home = mkdtempSync(join(tmpdir(), 'cpl-env-home-'));
    // The setup command's output is the server's own event (not the worker's): redacted all the same.
    writeFileSync(join(home, 'config.json'), JSON.stringify({ agentEnv: ['MY_BUILD_*'], workerNice: 0, setupCommands: { [repo]: `echo setup prints ${SETUP_TOKEN}` } }));
    server = await startServerProcess({
      cwd: repo,
      home,
      env: { ...SECRETS, ANTHROPIC_API_KEY, MY_BUILD_FLAVOR: 'blue-flavor', NOT_LISTED_FLAVOR: 'red-flavor', COPILOT_HOME: undefined, CLAUDE_CONFIG_DIR: undefined },
    });
    const login = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) });
    assert.equal(login.status, 200, await login.text());
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  });
  after(async () => {
    await server?.stop();
    for (const d of [repo, home]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('printenv in observe_only shows the basics, the listed variable and the agent credential, never the server\'s secrets', { timeout: STEP_MS * 2 }, async () => {
    const created = await call<Job>('POST', '/api/jobs', { repo, agent: 'claude', prompt: 'show the environment [[bash printenv]]', permissionMode: 'observe_only' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const job = created.body;
    let environ = '';
    let entries: TranscriptEntry[] = [];
    await waitFor(() => {
      const pid = workerPid(job.id);
      if (pid && !environ) environ = safeRead(`/proc/${pid}/environ`);
      return environ !== '';
    }, STEP_MS, 'the worker to run');
    const deadline = Date.now() + STEP_MS;
    for (;;) {
      const j = await call<Job>('GET', `/api/jobs/${job.id}`);
      assert.notEqual(j.body.state, 'failed', `the job failed: ${j.body.failureReason ?? ''}`);
      if (j.body.state === 'review') break;
      assert.ok(Date.now() < deadline, `the job to settle (it is ${j.body.state})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    entries = (await call<TranscriptEntry[]>('GET', `/api/jobs/${job.id}/transcript?limit=1000`)).body;
    const result = entries.find((e) => e.role === 'tool_result');
    assert.ok(result, `a tool result: ${JSON.stringify(entries).slice(0, 800)}`);
    assert.equal(result.toolSuccess, true, `printenv ran: ${result.toolOutput}`);
    const out = result.toolOutput ?? '';
    assert.match(out, /^PATH=/m);
    assert.match(out, /^HOME=/m);
    assert.match(out, /^MY_BUILD_FLAVOR=blue-flavor$/m, 'the variable the user listed arrives');
    assert.match(out, /^ANTHROPIC_API_KEY=\[REDACTED:env:ANTHROPIC_API_KEY\]$/m, "the agent's own credential arrives, and its value is redacted from the transcript");
    assert.equal(JSON.stringify(entries).includes(ANTHROPIC_API_KEY), false);
    assert.doesNotMatch(out, /NOT_LISTED_FLAVOR|red-flavor/);
    assert.doesNotMatch(out, /^(CPL|CODEPLANE)_/m, 'nothing of CodePlane\'s own reaches the agent');
    assert.doesNotMatch(out, /^(AWS_SECRET_ACCESS_KEY|DATABASE_URL|NODE_OPTIONS)=/m);
    const logs = (await call<LogLine[]>('GET', `/api/jobs/${job.id}/logs?limit=5000`)).body;
    assert.ok(logs.some((l) => l.message === 'setup prints [REDACTED:github-token]'), `the setup output, redacted: ${JSON.stringify(logs.map((l) => l.message))}`);
    const everything = JSON.stringify(entries) + JSON.stringify(logs);
    assert.equal(everything.includes(SETUP_TOKEN), false);
    for (const [k, v] of Object.entries(SECRETS)) assert.equal(everything.includes(v), false, `${k}'s value is in the transcript or the logs`);
    // The worker's own environment: readable by any process of the same user, so it holds no secret either.
    const workerVars = environ.split('\0').filter(Boolean);
    for (const [k, v] of Object.entries(SECRETS)) {
      assert.equal(workerVars.some((l) => l.startsWith(`${k}=`)), false, `the worker has ${k}`);
      assert.equal(environ.includes(v), false, `the worker's environment holds ${k}'s value`);
    }
    assert.ok(workerVars.includes(`CODEPLANE_HOME=${home}`), 'the worker has what it reads');
    assert.ok(workerVars.includes('MY_BUILD_FLAVOR=blue-flavor'));
  });

  it('an approval shows the command redacted, and approving it runs the real one', { timeout: STEP_MS * 2 }, async () => {
    const fileName = `${SETUP_TOKEN}.txt`;
    const created = await call<Job>('POST', '/api/jobs', { repo, agent: 'claude', prompt: `make a file [[bash touch ${fileName}]]`, permissionMode: 'review_and_approve' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const job = created.body;
    let pending: Approval[] = [];
    const deadline = Date.now() + STEP_MS;
    while (pending.length === 0) {
      assert.ok(Date.now() < deadline, 'the approval to be asked');
      await new Promise((r) => setTimeout(r, 200));
      pending = (await call<Approval[]>('GET', `/api/approvals?jobId=${job.id}`)).body.filter((a) => a.resolution === undefined);
    }
    const approval = pending[0]!;
    assert.equal(approval.summary, 'touch [REDACTED:github-token].txt');
    assert.equal(JSON.stringify(approval).includes(SETUP_TOKEN), false, 'the token is in no field of the approval');
    assert.equal((await call('POST', `/api/approvals/${approval.id}/resolve`, { resolution: 'approved' })).status, 200);
    for (;;) {
      const j = await call<Job>('GET', `/api/jobs/${job.id}`);
      if (j.body.state === 'review' || j.body.state === 'failed') break;
      assert.ok(Date.now() < deadline, `the job to settle (it is ${j.body.state})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(existsSync(join(job.worktreePath, fileName)), 'the real command ran: the file has the real name');
    // The server's own event (the job's creation, its title from the prompt) is redacted too.
    const sse = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`, 0, { cookie });
    try {
      const createdEvent = await sse.waitFor((e) => e.event === 'job_created', STEP_MS, 'job_created');
      assert.equal(JSON.stringify(createdEvent.data).includes(SETUP_TOKEN), false, JSON.stringify(createdEvent.data));
      assert.match(String(createdEvent.data['title']), /\[REDACTED:github-token\]/);
    } finally {
      sse.close();
    }
  });
});

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
