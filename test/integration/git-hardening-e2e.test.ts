/**
 * Through the real server, where a user meets it: a husky-style repository
 * (`core.hooksPath=.githooks`, fsmonitor, drivers: test/helpers/hostile-repo.ts) and a fake
 * agent in full_auto that plants its own hooks (`post-index-change`, `pre-commit`,
 * `post-merge`, `post-checkout`, `pre-push`, `reference-transaction`…). The live diff, the
 * merge (with the commit of the agent's work), the PR flow (push + fake gh), discard and the
 * start-up hygiene of a restarted server never run any of them. The server is started with a
 * poisoned git environment (GIT_DIR/GIT_WORK_TREE at another repository, GIT_CONFIG_PARAMETERS
 * and GIT_CONFIG_COUNT setting an identity, GIT_EXTERNAL_DIFF, GIT_SSH_COMMAND): none of it
 * reaches git. A control at the end shows the planted hooks and the fsmonitor are live.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { hostileRepo, type HostileRepo } from '../helpers/hostile-repo.ts';
import { ROOT, api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

const PLANTED = ['post-index-change', 'pre-commit', 'commit-msg', 'post-commit', 'post-merge', 'post-checkout', 'pre-merge-commit', 'pre-push', 'reference-transaction'];

describe('the server runs no program of the repository, end to end', () => {
  let h: HostileRepo;
  let server: ServerProcess;
  let sse: SseClient;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let remote: string;
  const ghLog = join(mkdtempSync(join(tmpdir(), 'cpl-gh-')), 'gh.log');

  before(async () => {
    h = hostileRepo('cpl-hostile-e2e-');
    remote = join(h.repo, '..', 'remote.git');
    h.userGit(join(h.repo, '..'), 'init', '-q', '--bare', remote);
    h.userGit(h.repo, 'remote', 'add', 'origin', remote);
    const decoy = join(h.repo, '..', 'decoy');
    mkdirSync(decoy);
    h.userGit(decoy, 'init', '-q', '-b', 'main');
    const bin = join(h.repo, '..', 'ghbin');
    mkdirSync(bin);
    symlinkSync(join(ROOT, 'test/fixtures/fake-gh'), join(bin, 'gh'));
    home = mkdtempSync(join(tmpdir(), 'cpl-home-'));
    env = {
      PATH: `${bin}:${process.env['PATH']}`,
      FAKE_GH_LOG: ghLog,
      GIT_DIR: join(decoy, '.git'),
      GIT_WORK_TREE: decoy,
      GIT_CONFIG_PARAMETERS: "'user.name'='Poisoned'",
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'user.email',
      GIT_CONFIG_VALUE_0: 'poisoned@example.invalid',
      GIT_EXTERNAL_DIFF: h.program('env-external-diff'),
      GIT_SSH_COMMAND: h.program('env-ssh-command'),
    };
    server = await startServerProcess({ cwd: h.repo, home, env });
    sse = await SseClient.open(`${server.url}/api/events`);
  });
  after(async () => {
    sse?.close();
    await server?.stop();
    rmSync(join(h.repo, '..'), { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  const nothingRan = (step: string) => assert.deepEqual(h.ran(), [], `${step}: programs the repository names ran\n${server.output().slice(-3000)}`);
  /** A prompt making the fake agent plant every hook (executable) and write `file`. */
  const plantingPrompt = (file: string) =>
    [
      ...PLANTED.map((hook) => `[[write .githooks/${hook} #!/bin/sh\n[ -n "$MARK_SKIP" ] || echo agent:${hook} >> '${h.log}'\n]]`),
      `[[bash chmod +x ${PLANTED.map((x) => `.githooks/${x}`).join(' ')}]]`,
      `[[write ${file} ${file} from the agent]]`,
    ].join(' ');
  const runToReview = async (prompt: string): Promise<Job> => {
    const { status, body } = await api<Job>(server.url, 'POST', '/api/jobs', { repo: h.repo, prompt, agent: 'claude', permissionMode: 'full_auto' });
    assert.equal(status, 201, JSON.stringify(body));
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === body.id && ['review', 'failed'].includes(String(e.data['to'])), 90_000, 'review');
    const job = (await api<Job>(server.url, 'GET', `/api/jobs/${body.id}`)).body;
    assert.equal(job.state, 'review', `job ${job.id}: ${JSON.stringify(job)}\n${server.output().slice(-3000)}`);
    return job;
  };

  it('registered the repository it was started in, not the one GIT_DIR names', async () => {
    const repos = await api<Array<{ path: string }>>(server.url, 'GET', '/api/repos');
    assert.ok(JSON.stringify(repos.body).includes(JSON.stringify(h.repo).slice(1, -1)), JSON.stringify(repos.body));
    nothingRan('start-up');
  });

  it('live diff and merge of an agent that planted hooks: none runs, the identity is not the poisoned one', async () => {
    const job = await runToReview(plantingPrompt('feature.txt'));
    for (const hook of PLANTED) assert.ok(existsSync(join(job.worktreePath, '.githooks', hook)), `the agent planted ${hook}`);
    const diff = await api<{ files: { path: string }[] }>(server.url, 'GET', `/api/jobs/${job.id}/diff`);
    assert.equal(diff.status, 200);
    assert.ok(diff.body.files.some((f) => f.path === 'feature.txt'), JSON.stringify(diff.body));
    nothingRan('live diff');

    const res = await api<{ resolution: string }>(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'merge' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    nothingRan('merge');
    assert.equal(readFileSync(join(h.repo, 'feature.txt'), 'utf8'), 'feature.txt from the agent');
    assert.match(readFileSync(join(h.repo, '.githooks', 'post-index-change'), 'utf8'), /agent:post-index-change/, "the planted hooks are in the user's checkout now");
    // The merge commit and the commit of the agent's work: the repository's identity is unset and
    // the server's home has no global config, so both are CodePlane's fallback, never the poisoned one.
    assert.equal(h.userGit(h.repo, 'log', '-2', '--format=%an|%ae|%cn|%ce', 'main'), 'CodePlane|codeplane@localhost|CodePlane|codeplane@localhost\n'.repeat(2).trim());
  });

  it("opens a PR (commit, push, gh's own git) and discards a job without running any of them", async () => {
    const pr = await runToReview(plantingPrompt('pr.txt'));
    const res = await api<{ resolution: string; prUrl: string }>(server.url, 'POST', `/api/jobs/${pr.id}/resolve`, { action: 'create_pr' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    nothingRan('create_pr');
    assert.ok(h.userGit(remote, 'rev-parse', pr.branch), 'the branch was pushed');
    assert.match(readFileSync(ghLog, 'utf8'), /"pr","create"/);

    const junk = await runToReview(plantingPrompt('junk.txt'));
    const d = await api<{ resolution: string }>(server.url, 'POST', `/api/jobs/${junk.id}/resolve`, { action: 'discard' });
    assert.equal(d.status, 200, JSON.stringify(d.body));
    for (let i = 0; i < 200 && existsSync(junk.worktreePath); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(existsSync(junk.worktreePath), false);
    nothingRan('discard');
  });

  it('a restarted server (start-up hygiene) runs none of them either', async () => {
    // A worktree directory no job knows: hygiene removes it.
    const stray = join(home, 'worktrees', 'stray-dir');
    mkdirSync(stray, { recursive: true });
    writeFileSync(join(stray, 'x'), 'x');
    sse.close();
    await server.stop();
    server = await startServerProcess({ cwd: h.repo, home, env });
    sse = await SseClient.open(`${server.url}/api/events`);
    assert.equal((await api(server.url, 'GET', '/api/health')).status, 200);
    nothingRan('restart');
  });

  it('control: the planted hooks and the fsmonitor are live for plain git', () => {
    try {
      h.plainGit(h.repo, '-c', 'filter.p.process=', 'status', '--porcelain');
    } catch {
      /* the fsmonitor fails: it ran all the same */
    }
    h.plainGit(h.repo, 'hook', 'run', 'post-index-change');
    assert.ok(h.ran().includes('fsmonitor'), h.ran().join(', '));
    assert.ok(h.ran().includes('agent:post-index-change'), h.ran().join(', '));
  });
});
