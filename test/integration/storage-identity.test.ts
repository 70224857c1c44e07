/**
 * The database lost, through the real server: deleted while running (health
 * and the terminal say so, writes are refused, a copy of what the server held
 * is saved, no worktree is touched), missing at the next start (refused, not
 * recreated, hygiene skipped), and lost for good (the id file deleted too):
 * the next start quarantines the job's worktree with its uncommitted work
 * instead of deleting it, and `cpl doctor` lists it with how to recover.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Health, Job } from '../../api/contract.ts';
import { cpl } from '../helpers/cpl.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { workerPids } from '../helpers/processes.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const servers: ServerProcess[] = [];
const jobIds: string[] = [];
after(async () => {
  for (const s of servers) await s.stop();
  // A server that died (a mutant, a regression) leaves its detached workers waiting for a supervisor forever.
  for (const id of jobIds) for (const pid of workerPids(id)) process.kill(pid, 'SIGKILL');
});
const env = { CPL_STORAGE_CHECK_MS: '200' };

async function start(repo: string, home?: string): Promise<ServerProcess> {
  const s = await startServerProcess({ cwd: repo, env, ...(home ? { home } : {}) });
  servers.push(s);
  return s;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

const health = async (url: string) => (await api<Health>(url, 'GET', '/api/health')).body;

/** A job in review whose worktree holds the agent's uncommitted work. */
async function jobWithWork(server: ServerProcess, repo: string): Promise<Job> {
  const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: '[[write agent-work.txt only copy of this work]]', agent: 'claude', permissionMode: 'full_auto' });
  jobIds.push(job.id);
  await until('the job in review', 90_000, async () => ((await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.state === 'review' ? true : undefined));
  const done = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
  assert.equal(readFileSync(join(done.worktreePath, 'agent-work.txt'), 'utf8'), 'only copy of this work');
  return done;
}

describe('the database lost', () => {
  it('deleted while running: shown in health, writes refused, a copy saved, no worktree touched; missing at the next start: not recreated', async () => {
    const repo = makeRepo('cpl-dbgone-');
    const server = await start(repo);
    const job = await jobWithWork(server, repo);
    const dbFile = join(server.home, 'codeplane.db');
    rmSync(dbFile);

    const h = await until('the deletion to show in health', 30_000, async () => {
      const v = await health(server.url);
      return v.storage.state === 'identity_problem' ? v : undefined;
    });
    assert.equal(h.status, 'degraded');
    assert.equal(h.storage.state === 'identity_problem' && h.storage.problem, 'deleted', JSON.stringify(h.storage));
    const refused = await api<{ error: { code: string } }>(server.url, 'POST', '/api/repos', { path: makeRepo('cpl-other-') });
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error.code, 'STORAGE_UNAVAILABLE');
    assert.equal((await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).status, 200, 'reads still answer');
    const discard = await api<{ error: { code: string } }>(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'discard' });
    assert.equal(discard.status, 503, 'a discard that could not be recorded is refused before it deletes anything');
    assert.equal(discard.body.error.code, 'STORAGE_UNAVAILABLE');
    await until('the loud message on the terminal', 10_000, async () => (/DATABASE DELETED/.test(server.output()) ? true : undefined));
    const copy = await until('the rescued copy', 30_000, async () => readdirSync(server.home).find((f) => f.startsWith('codeplane.db.rescued-')));
    const saved = new Database(join(server.home, copy), { readonly: true });
    assert.equal(saved.prepare('SELECT state FROM jobs WHERE id = ?').pluck().get(job.id), 'review', 'the copy holds the job');
    saved.close();
    assert.equal(readFileSync(join(job.worktreePath, 'agent-work.txt'), 'utf8'), 'only copy of this work');
    await server.stop();

    // The next start: the id file says a database existed; none is created in its place.
    const again = await start(repo, server.home);
    const h2 = await health(again.url);
    assert.equal(h2.storage.state === 'identity_problem' && h2.storage.problem, 'missing', JSON.stringify(h2.storage));
    assert.equal(existsSync(dbFile), false, 'no fresh database where the user\'s belongs');
    assert.equal((await api(again.url, 'POST', '/api/repos', { path: makeRepo('cpl-other-') })).status, 503);
    assert.ok(existsSync(join(job.worktreePath, 'agent-work.txt')), 'hygiene touched nothing');
    assert.match(again.output(), /DATABASE MISSING/);
    const token = await cpl(['token', 'create', 'ci'], { CODEPLANE_HOME: server.home }, { ms: 30_000 });
    assert.notEqual(token.code, 0, token.out);
    assert.match(token.out, /is missing/, 'a local admin command refuses too');
    assert.equal(existsSync(dbFile), false, 'and creates no database either');
  });

  it('lost while stopped (database and id file): the next start quarantines the worktree with its work, and cpl doctor lists it', async () => {
    const repo = makeRepo('cpl-dblost-');
    const server = await start(repo);
    const job = await jobWithWork(server, repo);
    await server.stop();
    for (const f of ['codeplane.db', 'codeplane.db-wal', 'codeplane.db-shm', 'codeplane.db.id']) rmSync(join(server.home, f), { force: true });

    const again = await start(repo, server.home);
    assert.equal((await health(again.url)).storage.state, 'ok', 'a fresh database, accepted on purpose');
    assert.equal(existsSync(job.worktreePath), false, 'moved off the worktrees root');
    const quarantine = join(server.home, 'quarantine');
    const [entry] = readdirSync(quarantine);
    assert.ok(entry, 'one quarantine entry');
    const moved = join(quarantine, entry, 'worktree');
    assert.equal(readFileSync(join(moved, 'agent-work.txt'), 'utf8'), 'only copy of this work', 'the uncommitted work is kept');
    const record = JSON.parse(readFileSync(join(quarantine, entry, 'quarantine.json'), 'utf8')) as Record<string, string>;
    assert.equal(record['from'], job.worktreePath);
    assert.equal(record['branch'], job.branch);
    assert.ok(git(repo, 'worktree', 'list', '--porcelain').includes(moved), 'git still knows the worktree where it went');
    await again.stop();

    const doctor = await cpl(['doctor', '--json', '--port', '0'], { CODEPLANE_HOME: server.home, HOME: server.home }, { ms: 60_000 });
    const checks = (JSON.parse(doctor.out.slice(doctor.out.indexOf('{'))) as { checks: Array<{ id: string; ok: boolean; detail: string; hint?: string }> }).checks;
    const q = checks.find((c) => c.id === 'quarantine');
    assert.ok(q && !q.ok, JSON.stringify(q));
    assert.ok(q.detail.includes(moved) && q.detail.includes(job.worktreePath) && q.detail.includes(job.branch), q.detail);
    assert.match(q.hint ?? '', /commit|copy/);
  });
});
