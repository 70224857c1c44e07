import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { Job, Repo } from '../../api/contract.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

type Err = { error: { code: string; message: string; field?: string; details?: { jobId?: string } } };

/**
 * A job's worktree, CodePlane's data directory or its worktrees directory can never become a
 * registered repository, however the path is spelt (symlinks, `..`, trailing slashes,
 * a subdirectory): otherwise discarding one job would delete another's work.
 */
describe('registering a repository where CodePlane keeps its own things', () => {
  let server: ServerProcess;
  let repo: string;
  let outsideWorktrees: string;
  let job: Job;
  const repoRows = (): string[] => {
    const db = new BetterSqlite3(join(server.home, 'codeplane.db'), { readonly: true });
    try {
      return (db.prepare('SELECT path FROM repos').all() as { path: string }[]).map((r) => r.path);
    } finally {
      db.close();
    }
  };

  before(async () => {
    repo = makeRepo();
    const home = mkdtempSync(join(tmpdir(), 'cpl-guard-home-'));
    // Worktrees outside the data directory, so "is a job's worktree" is told apart from "is inside CodePlane's home".
    outsideWorktrees = join(mkdtempSync(join(tmpdir(), 'cpl-guard-wt-')), 'trees');
    writeFileSync(join(home, 'config.json'), JSON.stringify({ worktreesDir: outsideWorktrees, workerNice: 0 }));
    server = await startServerProcess({ cwd: repo, home });
    const sse = await SseClient.open(`${server.url}/api/events`);
    const created = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'say hello', agent: 'claude', permissionMode: 'full_auto' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    job = created.body;
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'review', 120_000, 'the job in review');
    sse.close();
  });
  after(async () => {
    await server?.stop();
  });

  it("refuses a job's worktree however it is named (409 REPO_IS_JOB_WORKTREE)", async () => {
    const wt = job.worktreePath;
    mkdirSync(join(wt, 'src', 'deep'), { recursive: true });
    const links = mkdtempSync(join(tmpdir(), 'cpl-guard-links-'));
    symlinkSync(wt, join(links, 'to-worktree'));
    symlinkSync(join(wt, 'src'), join(links, 'to-src'));
    const spellings = [wt, `${wt}/`, `${wt}//`, join(wt, 'src'), join(wt, 'src', 'deep'), `${wt}/src/deep/../..`, `${dirname(wt)}/../${basename(dirname(wt))}/${basename(wt)}`, join(links, 'to-worktree'), `${join(links, 'to-worktree')}/`, join(links, 'to-src')];
    for (const path of spellings) {
      const res = await api<Err>(server.url, 'POST', '/api/repos', { path });
      assert.equal(res.status, 409, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'REPO_IS_JOB_WORKTREE', path);
      assert.equal(res.body.error.details?.jobId, job.id);
    }
    assert.deepEqual(repoRows(), [realpathSync(repo)], 'nothing was registered');
  });

  it('refuses repositories inside the data directory or the worktrees directory (400 REPO_PATH_RESERVED)', async () => {
    const inHome = join(server.home, 'jobs', 'sneaky');
    mkdirSync(inHome, { recursive: true });
    git(inHome, 'init', '-q');
    const inTrees = join(outsideWorktrees, 'not-a-job');
    mkdirSync(inTrees, { recursive: true });
    git(inTrees, 'init', '-q');
    const links = mkdtempSync(join(tmpdir(), 'cpl-guard-links-'));
    symlinkSync(inHome, join(links, 'home-repo'));
    symlinkSync(server.home, join(links, 'the-home'));
    for (const path of [inHome, `${inHome}/`, join(links, 'home-repo'), join(links, 'the-home', 'jobs', 'sneaky'), inTrees, `${inTrees}/../not-a-job`]) {
      const res = await api<Err>(server.url, 'POST', '/api/repos', { path });
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'REPO_PATH_RESERVED', path);
      assert.equal(res.body.error.field, 'path');
    }
    assert.deepEqual(repoRows(), [realpathSync(repo)]);
  });

  it('still registers an ordinary repository, and the same one again', async () => {
    const other = makeRepo();
    const first = await api<Repo>(server.url, 'POST', '/api/repos', { path: `${other}/` });
    assert.equal(first.status, 201);
    const again = await api<Repo>(server.url, 'POST', '/api/repos', { path: other });
    assert.equal(again.body.id, first.body.id);
    assert.equal((await api(server.url, 'POST', '/api/repos', { path: repo })).status, 201);
  });
});
