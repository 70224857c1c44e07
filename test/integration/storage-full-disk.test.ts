/**
 * CODEPLANE_HOME on a real 20 MB filesystem (tmpfs) that an agent fills by
 * writing a 25 MB file: the server stays up and answers, writes get 503
 * STORAGE_UNAVAILABLE, the worker keeps the events the database refused, and
 * when the file is deleted the server resumes by itself and the job reaches
 * review with nothing lost. Restarted while the disk is still full, it answers
 * on its port and stops when asked (no logging retry loop).
 *
 * Needs root (mount); the CI runs as root, and so does this machine's session.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Health, Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { workerPids } from '../helpers/processes.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Health within a deadline: a server that hangs fails here instead of hanging the test. */
async function health(url: string, timeoutMs = 5000): Promise<Health> {
  const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(timeoutMs) });
  assert.equal(res.status, 200);
  return (await res.json()) as Health;
}

async function stopWithin(s: ServerProcess, ms: number): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const gone = new Promise<void>((r) => s.child.once('exit', () => r()));
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => s.child.kill('SIGKILL'), ms);
  const t0 = performance.now();
  await gone;
  clearTimeout(timer);
  assert.ok(performance.now() - t0 < ms, `the server stopped within ${ms} ms of SIGTERM (took ${Math.round(performance.now() - t0)} ms): ${s.output().slice(-2000)}`);
}

describe('CODEPLANE_HOME on a full disk', () => {
  it('stays up read-only, refuses writes with 503, resumes the job when space is freed with nothing lost, and restarts while full', async (t) => {
    const home = mkdtempSync(join(tmpdir(), 'cpl-fullhome-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m,mode=0700', 'tmpfs', home]);
    const servers: ServerProcess[] = [];
    const jobIds: string[] = [];
    t.after(async () => {
      for (const s of servers) await stopWithin(s, 30_000).catch(() => undefined);
      // A server that died (a mutant, a regression) leaves its detached workers waiting for a supervisor forever.
      for (const id of jobIds) for (const pid of workerPids(id)) process.kill(pid, 'SIGKILL');
      spawnSync('umount', ['-l', home]);
      rmSync(home, { recursive: true, force: true });
    });
    // The agent's own session files stay off the small disk: sandboxed, a Claude job keeps them in its agent home
    // under CODEPLANE_HOME unless it loads the user's own configuration (then ~/.claude), which this test asks for.
    // This is about CodePlane on a full disk, not about whether an agent CLI survives one.
    const userHome = mkdtempSync(join(tmpdir(), 'cpl-userhome-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ agents: { claude: { userConfig: true } } }));
    const repo = makeRepo('cpl-full-');
    const env = { HOME: userHome, CPL_STORAGE_CHECK_MS: '200' };
    const server = await startServerProcess({ cwd: repo, home, env });
    servers.push(server);

    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', {
      repo,
      // The marker is an empty file: a full filesystem still has inodes for it.
      prompt: '[[bash head -c 25M /dev/zero > filler.bin; echo filled-the-disk]] [[bash touch turn-marker]] [[slow 30]]',
      agent: 'claude',
      permissionMode: 'full_auto',
    });
    assert.ok(job.id, JSON.stringify(job));
    jobIds.push(job.id);

    // The database refuses the agent's next events: read-only, health still answers (and fast).
    const degraded = await until('read-only storage in /api/health', 90_000, async () => {
      const h = await health(server.url);
      return h.storage.state === 'read_only' ? h : undefined;
    });
    assert.equal(degraded.status, 'degraded');
    assert.equal(degraded.storage.state === 'read_only' && degraded.storage.cause, 'disk_full', JSON.stringify(degraded.storage));

    const refused = await api<{ error: { code: string; message: string } }>(server.url, 'POST', '/api/repos', { path: makeRepo('cpl-other-') });
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'STORAGE_UNAVAILABLE');
    assert.match(refused.body.error.message, /full/);
    const read = await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`);
    assert.equal(read.status, 200, 'reads keep working');

    // The agent finishes its turn while the disk is full: its events (and the job's snapshot) wait.
    // The agent's last tool ran (its marker is there); its closing 30 deltas take 1.5 s more, then the turn ends
    // and the worker sends the job's snapshot. Five seconds of watching, the server answering throughout.
    await until('the agent to run its last tool', 60_000, async () => (existsSync(join(job.worktreePath, 'turn-marker')) ? true : undefined));
    const t0 = performance.now();
    while (performance.now() - t0 < 5000) {
      assert.equal(server.child.exitCode, null, `the server is still running: ${server.output().slice(-2000)}`);
      assert.equal((await health(server.url)).storage.state, 'read_only');
      await sleep(100);
    }
    assert.equal((await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.state, 'running', 'the end of the turn is not stored yet');

    rmSync(join(job.worktreePath, 'filler.bin'));
    const recovered = await until('writes to work again', 60_000, async () => {
      const h = await health(server.url);
      return h.storage.state === 'ok' ? h : undefined;
    });
    assert.equal(recovered.status, 'ok');
    await until('the job to reach review', 60_000, async () => ((await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.state === 'review' ? true : undefined));

    // Nothing lost: the whole log, contiguous, with what the agent said while the disk was full.
    const replay = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`, 0);
    await replay.waitFor((e) => e.event === 'job_state_changed' && e.data['to'] === 'review', 30_000, 'replay to review');
    replay.close();
    const seqs = replay.events.map((e) => Number(e.data['seq']));
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'contiguous seqs');
    const text = JSON.stringify(replay.events.map((e) => e.data));
    assert.match(text, /filled-the-disk/, 'the tool output is there');
    assert.match(text, /tick 29/, 'the last delta is there');
    const db = new Database(join(home, 'codeplane.db'), { readonly: true });
    const snapshot = db.prepare('SELECT snapshot FROM jobs WHERE id = ?').pluck().get(job.id) as string;
    db.close();
    assert.match(snapshot, /"review"/, 'the snapshot that arrived while the disk was full was stored after the events');

    // Stopped, filled again, started: it answers and stops; nothing hangs.
    await stopWithin(server, 30_000);
    // Without its shared-memory file SQLite must make one at the open, which a full disk refuses (SQLITE_IOERR_SHMSIZE):
    // the server still starts (the index kept in memory) rather than refusing to start.
    rmSync(join(home, 'codeplane.db-shm'), { force: true });
    spawnSync('sh', ['-c', `head -c 25M /dev/zero > '${join(home, 'filler-again.bin')}'`]);
    const again = await startServerProcess({ cwd: repo, home, env });
    servers.push(again);
    const h = await health(again.url);
    t.diagnostic(`restarted on the full disk: ${JSON.stringify(h.storage)}`);
    assert.equal(h.storage.state, 'read_only', JSON.stringify(h.storage));
    assert.match(again.output(), /opened without its shared-memory file/, 'opened without the -shm file the full disk refused (said on the terminal)');
    const write = await api<{ error?: { code: string } }>(again.url, 'POST', '/api/repos', { path: makeRepo('cpl-third-') });
    assert.ok(write.status === 201 || (write.status === 503 && write.body.error?.code === 'STORAGE_UNAVAILABLE'), `a write either works or is refused cleanly: ${write.status} ${JSON.stringify(write.body)}`);
    assert.equal((await api<Job>(again.url, 'GET', `/api/jobs/${job.id}`)).body.state, 'review');
    await health(again.url);
    await stopWithin(again, 30_000);
  });
});
