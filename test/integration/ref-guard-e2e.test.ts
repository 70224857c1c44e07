/**
 * Issue 13, the ref guard end to end: a full_auto agent (the fake claude,
 * running each `[[bash …]]` for real) with the sandbox off moves the user's
 * refs and HEAD from inside its worktree, through an interpreter and through
 * git. After each turn, whether it ended in review or failed, the real server
 * puts them back, keeps the job's own commits, and raises the alarm as the
 * job's own event (SSE, transcript).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Approval, ContainmentChange, Job, TranscriptEntry } from '../../api/contract.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient, type SseEvent } from '../helpers/sse-client.ts';
import { workerPid, workerPids } from '../helpers/processes.ts';

/** A hang guard only: the first job of a fresh server bundles the worker, which takes long on a loaded machine. */
const STEP_MS = 180_000;
const ENDS = ['review', 'failed', 'canceled'];
const ALARM_MS = 60_000;

const rev = (cwd: string, ref: string): string => git(cwd, 'rev-parse', ref);
const exists = (cwd: string, ref: string): boolean => {
  try {
    git(cwd, 'rev-parse', '--verify', '--quiet', ref);
    return true;
  } catch {
    return false;
  }
};

describe('issue 13: refs and HEAD checked after every turn (sandbox off, full_auto)', () => {
  let server: ServerProcess;
  let sse: SseClient;
  let repo: string;
  let home: string;
  const answered = new Set<string>();

  before(async () => {
    repo = makeRepo('cpl-refguard-e2e-');
    git(repo, 'branch', 'other');
    git(repo, 'branch', 'doomed');
    home = mkdtempSync(join(tmpdir(), 'cpl-refguard-home-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ sandbox: 'off', workerNice: 0 }));
    server = await startServerProcess({ cwd: repo, home, env: { COPILOT_HOME: undefined, CLAUDE_CONFIG_DIR: undefined } });
    sse = await SseClient.open(`${server.url}/api/events`);
  });
  after(async () => {
    sse?.close();
    await server?.stop();
    for (const d of [repo, home]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const bash = (...commands: string[]): string => commands.map((c) => `[[bash ${c}]]`).join('\n');
  const forJob = (jobId: string, type: string): SseEvent[] => sse.events.filter((e) => e.event === type && e.data['jobId'] === jobId);

  /** Approves whatever the agent asks (full_auto still asks for some) until the job's `nth` turn ends; returns the state it ended in. */
  async function turnEnds(jobId: string, nth: number): Promise<string> {
    for (;;) {
      const e = await sse.waitFor(
        (x) =>
          x.data['jobId'] === jobId &&
          ((x.event === 'approval_requested' && !answered.has((x.data['approval'] as Approval).id)) ||
            (x.event === 'job_state_changed' && ENDS.includes(String(x.data['to'])) && forJob(jobId, 'job_state_changed').filter((s) => ENDS.includes(String(s.data['to']))).indexOf(x) === nth - 1)),
        STEP_MS,
        `turn ${nth} of ${jobId} to end`,
      );
      if (e.event === 'job_state_changed') return String(e.data['to']);
      const approval = e.data['approval'] as Approval;
      answered.add(approval.id);
      const r = await api(server.url, 'POST', `/api/approvals/${approval.id}/resolve`, { resolution: 'approved' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  }
  /**
   * Every change the guard raised for the job's `nth` turn: the alarms of the checks made while
   * it waited for approvals (full_auto still asks for some commands) and at its end, once the
   * server logged that the end-of-turn check is done.
   */
  const claimed = new Set<number>();
  async function turnAlarms(jobId: string, nth: number): Promise<string[]> {
    const deadline = performance.now() + ALARM_MS;
    for (;;) {
      const logged = checksLogged(jobId);
      const endsAt = logged.map((l, i) => (l.turnOver ? i : -1)).filter((i) => i >= 0);
      if (endsAt.length >= nth) {
        // The server logs each check once its alarm is handed over; the event itself may still be on its way.
        const expected = logged.slice(nth > 1 ? endsAt[nth - 2]! + 1 : 0, endsAt[nth - 1]! + 1).reduce((n, l) => n + l.changes, 0);
        // Called turn after turn, before the next one starts: the alarms no earlier turn claimed are this one's.
        const alarms = forJob(jobId, 'containment_alarm').filter((x) => !claimed.has(x.id));
        const changes = alarms.flatMap((x) => (x.data['changes'] as ContainmentChange[]).map((c) => `${c.change} ${c.ref} ${c.undone}`));
        if (changes.length >= expected) {
          for (const x of alarms) claimed.add(x.id);
          return changes.sort();
        }
      }
      assert.ok(performance.now() < deadline, `turn ${nth} of ${jobId} not checked: ${JSON.stringify(logged)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const checksLogged = (jobId: string): { turnOver: boolean; changes: number }[] =>
    readFileSync(join(home, 'logs', 'codeplane.log'), 'utf8').split('\n').filter((l) => l.includes(jobId) && l.includes('"ref guard: ')).map((l) => JSON.parse(l) as { turnOver: boolean; changes: number });

  const alarm = async (jobId: string, nth: number): Promise<ContainmentChange[]> => {
    // The check follows the turn's end at once (a few git commands): a minute is generous on a loaded machine.
    await sse.waitFor((x) => x.event === 'containment_alarm' && x.data['jobId'] === jobId && forJob(jobId, 'containment_alarm').length >= nth, ALARM_MS, `alarm ${nth} of ${jobId}`);
    return forJob(jobId, 'containment_alarm')[nth - 1]!.data['changes'] as ContainmentChange[];
  };

  it('interpreter, update-ref, symbolic-ref, branch -D and a tag: undone after each turn, the job keeps its commits, the alarm is on the job', { timeout: 600_000 }, async () => {
    const main = rev(repo, 'main');
    const doomed = rev(repo, 'doomed');
    const prompt = bash(
      'git -c user.name=a -c user.email=a@a commit -q --allow-empty -m mine',
      `node -e "const cp=require('child_process'),fs=require('fs');const d=cp.execSync('git rev-parse --git-common-dir').toString().trim();fs.writeFileSync(d+'/refs/heads/main',cp.execSync('git rev-parse HEAD'))"`,
      'git --git-dir="$(git rev-parse --git-common-dir)" symbolic-ref HEAD refs/heads/evil',
      'git branch -D doomed',
      'git tag evil-tag',
    );
    const created = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt, permissionMode: 'full_auto' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const job = created.body;
    assert.equal(await turnEnds(job.id, 1), 'review');
    assert.deepEqual(await turnAlarms(job.id, 1), ['created refs/tags/evil-tag true', 'deleted refs/heads/doomed true', 'moved HEAD true', 'moved refs/heads/main true']);
    const mine = rev(repo, job.branch);
    assert.equal(git(repo, 'log', '-1', '--format=%s', job.branch), 'mine', "the job's own commit is on its branch");
    const mainChange = forJob(job.id, 'containment_alarm').flatMap((a) => a.data['changes'] as ContainmentChange[]).find((c) => c.ref === 'refs/heads/main');
    assert.equal(mainChange?.after, mine, 'the alarm names the value that was undone');
    assert.equal(rev(repo, 'main'), main, "the user's branch is back");
    assert.equal(readFileSync(join(repo, '.git', 'HEAD'), 'utf8'), 'ref: refs/heads/main\n', "the repository's HEAD is back");
    assert.equal(rev(repo, 'doomed'), doomed, 'the deleted branch is back');
    assert.equal(exists(repo, 'refs/tags/evil-tag'), false, 'the tag is gone');

    // A follow-up is a new turn with its own baseline: git update-ref straight at main.
    assert.equal((await api(server.url, 'POST', `/api/jobs/${job.id}/messages`, { content: bash('git update-ref refs/heads/main HEAD') })).status, 202);
    assert.equal(await turnEnds(job.id, 2), 'review');
    assert.deepEqual(await turnAlarms(job.id, 2), ['moved refs/heads/main true']);
    assert.equal(rev(repo, 'main'), main);

    // A turn that fails (the CLI crashes after the attack): still checked, the alarm appended once the worker is gone.
    const other = rev(repo, 'other');
    assert.equal((await api(server.url, 'POST', `/api/jobs/${job.id}/messages`, { content: `${bash('git update-ref refs/heads/other HEAD')} [[crash]]` })).status, 202);
    assert.equal(await turnEnds(job.id, 3), 'failed');
    assert.deepEqual(await turnAlarms(job.id, 3), ['moved refs/heads/other true']);
    assert.equal(rev(repo, 'other'), other);
    assert.equal(rev(repo, job.branch), mine, "the job's branch still has its commit");

    // Resumed after the failure: a new worker, a new turn, checked like any other.
    const resumed = await api(server.url, 'POST', `/api/jobs/${job.id}/resume`, { instruction: bash('git tag after-resume') });
    assert.ok(resumed.status < 300, JSON.stringify(resumed.body));
    assert.equal(await turnEnds(job.id, 4), 'review');
    assert.deepEqual(await turnAlarms(job.id, 4), ['created refs/tags/after-resume true']);
    assert.equal(exists(repo, 'refs/tags/after-resume'), false);

    // In the snapshot the job page opens with.
    const snap = (await api<{ alarms: { changes: ContainmentChange[] }[] }>(server.url, 'GET', `/api/jobs/${job.id}/snapshot`)).body;
    assert.equal(snap.alarms.length, forJob(job.id, 'containment_alarm').length);
    assert.equal(snap.alarms.flatMap((a) => a.changes).length, 7);

    // In the transcript (REST), so it is read wherever the transcript is.
    const transcript = (await api<TranscriptEntry[]>(server.url, 'GET', `/api/jobs/${job.id}/transcript`)).body;
    const lines = transcript.filter((t) => t.role === 'system' && (t.text ?? '').startsWith('Containment alarm:'));
    assert.equal(lines.length, forJob(job.id, 'containment_alarm').length, JSON.stringify(transcript.map((t) => [t.role, t.text])));
    assert.ok(lines.some((l) => /refs\/heads\/main moved .*undone/.test(l.text ?? '')), JSON.stringify(lines));
  });

  it('review_and_approve: the check also runs while the turn waits for an approval, so the alarm comes before the answer', { timeout: 300_000 }, async () => {
    const prompt = bash('git tag mid-turn', 'touch asked.txt');
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt, permissionMode: 'review_and_approve' });
    const ask = (i: number) => sse.waitFor((x) => x.event === 'approval_requested' && x.data['jobId'] === job.id && forJob(job.id, 'approval_requested').length > i, STEP_MS, `ask ${i + 1}`);
    await ask(0);
    const first = forJob(job.id, 'approval_requested')[0]!.data['approval'] as Approval;
    answered.add(first.id);
    await api(server.url, 'POST', `/api/approvals/${first.id}/resolve`, { resolution: 'approved' });
    await ask(1);
    const second = forJob(job.id, 'approval_requested')[1]!.data['approval'] as Approval;
    assert.equal(second.summary, 'touch asked.txt');
    const changes = await alarm(job.id, 1);
    assert.equal((await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.state, 'waiting_for_approval', 'the alarm came while the second ask is open');
    assert.deepEqual(changes.map((c) => `${c.change} ${c.ref} ${c.undone}`), ['created refs/tags/mid-turn true']);
    assert.equal(exists(repo, 'refs/tags/mid-turn'), false);
    answered.add(second.id);
    await api(server.url, 'POST', `/api/approvals/${second.id}/resolve`, { resolution: 'approved' });
    assert.equal(await turnEnds(job.id, 1), 'review');
    await turnAlarms(job.id, 1);
    const logged = checksLogged(job.id);
    assert.deepEqual(logged.map((l) => [l.turnOver, l.changes]), [[false, 0], [false, 1], [true, 0]], 'checked at each ask (nothing, then the tag) and at the end (nothing more)');
    assert.equal(forJob(job.id, 'containment_alarm').length, 1);
  });

  it('a turn that changes nothing outside its branch raises no alarm', { timeout: 300_000 }, async () => {
    const created = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: bash('git -c user.name=a -c user.email=a@a commit -q --allow-empty -m clean'), permissionMode: 'full_auto' });
    const job = created.body;
    assert.equal(await turnEnds(job.id, 1), 'review');
    assert.deepEqual(await turnAlarms(job.id, 1), []);
    assert.ok(checksLogged(job.id).every((l) => l.changes === 0), 'every check found nothing');
    assert.deepEqual(forJob(job.id, 'containment_alarm'), []);
    assert.equal(git(repo, 'log', '-1', '--format=%s', job.branch), 'clean');
  });
  it('refs unreadable before a turn (packed-refs broken between turns): the turn is started anyway and an alarm says it is not checked', { timeout: 300_000 }, async () => {
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: 'first', permissionMode: 'full_auto' });
    assert.equal(await turnEnds(job.id, 1), 'review');
    await turnAlarms(job.id, 1);
    git(repo, 'pack-refs', '--all');
    const packed = join(repo, '.git', 'packed-refs');
    const good = readFileSync(packed, 'utf8');
    writeFileSync(packed, `${good}garbage line\n`);
    try {
      assert.equal((await api(server.url, 'POST', `/api/jobs/${job.id}/messages`, { content: 'second' })).status, 202);
      const changes = await alarm(job.id, 1);
      assert.deepEqual(changes, []);
      const message = String(forJob(job.id, 'containment_alarm')[0]!.data['message']);
      assert.match(message, /could not record the repository's refs before the turn, so this turn is not checked.*packed-refs/);
      assert.equal(await turnEnds(job.id, 2), 'review', 'the turn itself ran');
    } finally {
      writeFileSync(packed, good);
    }
  });
});

describe('issue 13: the ref check survives kill -9 of the worker or of the server mid-turn', () => {
  const servers: ServerProcess[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const setup = async (): Promise<{ repo: string; home: string; server: ServerProcess; sse: SseClient }> => {
    const repo = makeRepo('cpl-refguard-kill-');
    const home = mkdtempSync(join(tmpdir(), 'cpl-refguard-kill-home-'));
    dirs.push(repo, home);
    writeFileSync(join(home, 'config.json'), JSON.stringify({ sandbox: 'off', workerNice: 0 }));
    const server = await startServerProcess({ cwd: repo, home, env: { COPILOT_HOME: undefined, CLAUDE_CONFIG_DIR: undefined } });
    servers.push(server);
    return { repo, home, server, sse: await SseClient.open(`${server.url}/api/events`) };
  };
  /** The agent tags the repository, then streams long enough to be killed mid-turn. */
  const PROMPT = '[[bash git tag planted-before-the-crash]] [[slow 150]]';
  const isDelta = (jobId: string) => (e: SseEvent) => e.event === 'transcript_update' && e.data['jobId'] === jobId && (e.data['entry'] as TranscriptEntry).role === 'agent_delta';
  const reached = (jobId: string, to: string) => (e: SseEvent) => e.event === 'job_state_changed' && e.data['jobId'] === jobId && e.data['to'] === to;
  const alarmed = (jobId: string) => (e: SseEvent) => e.event === 'containment_alarm' && e.data['jobId'] === jobId;

  it('worker killed after the attack: the restarted worker continues the same turn, checked against the baseline from before the attack', { timeout: 300_000 }, async () => {
    const { repo, server, sse } = await setup();
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: PROMPT, permissionMode: 'full_auto' });
    await sse.waitFor(isDelta(job.id), STEP_MS, 'the stream after the attack');
    assert.equal(exists(repo, 'refs/tags/planted-before-the-crash'), true, 'the attack ran');
    process.kill(workerPid(job.id)!, 'SIGKILL');
    await sse.waitFor(reached(job.id, 'review'), STEP_MS, 'review after the restart');
    const alarm = await sse.waitFor(alarmed(job.id), ALARM_MS, 'the alarm');
    sse.close();
    assert.deepEqual((alarm.data['changes'] as ContainmentChange[]).map((c) => `${c.change} ${c.ref} ${c.undone}`), ['created refs/tags/planted-before-the-crash true']);
    assert.equal(exists(repo, 'refs/tags/planted-before-the-crash'), false);
  });

  it('server killed after the attack: the next server re-attaches the worker and checks the turn against the baseline on disk', { timeout: 300_000 }, async () => {
    const { repo, home, server, sse } = await setup();
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: PROMPT, permissionMode: 'full_auto' });
    await sse.waitFor(isDelta(job.id), STEP_MS, 'the stream after the attack');
    const pid = workerPid(job.id)!;
    const gone = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGKILL');
    await gone;
    sse.close();
    const second = await startServerProcess({ cwd: repo, home, env: { COPILOT_HOME: undefined, CLAUDE_CONFIG_DIR: undefined } });
    servers.push(second);
    const resumed = await SseClient.open(`${second.url}/api/events`, sse.lastId);
    await resumed.waitFor(reached(job.id, 'review'), STEP_MS, 'review after the re-attach');
    const alarm = await resumed.waitFor(alarmed(job.id), ALARM_MS, 'the alarm');
    resumed.close();
    assert.deepEqual(workerPids(job.id), [pid], 'the same worker, re-attached');
    assert.deepEqual((alarm.data['changes'] as ContainmentChange[]).map((c) => `${c.change} ${c.ref} ${c.undone}`), ['created refs/tags/planted-before-the-crash true']);
    assert.equal(exists(repo, 'refs/tags/planted-before-the-crash'), false);
  });
});

describe("issue 13: CodePlane's own ref changes during another job's turn are not undone", () => {
  let server: ServerProcess;
  let sse: SseClient;
  let repo: string;
  let home: string;
  let gate: string;

  before(async () => {
    repo = makeRepo('cpl-refguard-own-');
    home = mkdtempSync(join(tmpdir(), 'cpl-refguard-own-home-'));
    gate = join(home, 'hold-setup');
    // A setup command that waits while the gate file exists: a job can be held in preparing, its branch already made.
    const setupCommands = { [basename(repo)]: `while [ -e '${gate}' ]; do sleep 0.1; done` };
    writeFileSync(join(home, 'config.json'), JSON.stringify({ sandbox: 'off', workerNice: 0, maxJobsPerRepo: 3, maxConcurrentJobs: 3, setupCommands }));
    server = await startServerProcess({ cwd: repo, home, env: { COPILOT_HOME: undefined, CLAUDE_CONFIG_DIR: undefined } });
    sse = await SseClient.open(`${server.url}/api/events`);
  });
  after(async () => {
    sse?.close();
    await server?.stop();
    for (const d of [repo, home]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const reached = (jobId: string, to: string) => (e: SseEvent) => e.event === 'job_state_changed' && e.data['jobId'] === jobId && e.data['to'] === to;
  const commit = (msg: string) => `[[bash git -c user.name=a -c user.email=a@a commit -q --allow-empty -m ${msg}]]`;
  const approveAll = (jobId: string): (() => void) => {
    // full_auto still asks explicitly for `git -c`: answer every ask of this job as it comes.
    let stopped = false;
    const answered = new Set<string>();
    void (async () => {
      while (!stopped) {
        const e = await sse.waitFor((x) => x.event === 'approval_requested' && x.data['jobId'] === jobId && !answered.has((x.data['approval'] as Approval).id), STEP_MS, 'ask').catch(() => undefined);
        if (!e || stopped) return;
        const id = (e.data['approval'] as Approval).id;
        answered.add(id);
        await api(server.url, 'POST', `/api/approvals/${id}/resolve`, { resolution: 'approved' });
      }
    })();
    return () => void (stopped = true);
  };

  it("a merge of one job (main moves) and a new job's branch (its job still preparing), both while another job's agent works: that job's check undoes neither, and its own commit stays", { timeout: 600_000 }, async () => {
    const { body: a } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: commit('from-a'), permissionMode: 'full_auto' });
    const stopA = approveAll(a.id);
    await sse.waitFor(reached(a.id, 'review'), STEP_MS, 'A in review');
    stopA();
    // B commits, then streams for a while: its turn is in flight while A is merged and C is created.
    const { body: b } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: `${commit('from-b')} [[slow 400]]`, permissionMode: 'full_auto' });
    const stopB = approveAll(b.id);
    await sse.waitFor((e) => e.event === 'transcript_update' && e.data['jobId'] === b.id && (e.data['entry'] as TranscriptEntry).role === 'agent_delta', STEP_MS, 'B streaming');
    const merged = await api(server.url, 'POST', `/api/jobs/${a.id}/resolve`, { action: 'merge' });
    assert.equal(merged.status, 200, JSON.stringify(merged.body));
    const landed = git(repo, 'rev-parse', 'main');
    // C's branch is made, then C waits in its setup command until B's turn has been checked.
    writeFileSync(gate, '');
    const { body: c } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt: 'hello', permissionMode: 'full_auto' });
    const branchDeadline = performance.now() + STEP_MS;
    while (!(() => { try { git(repo, 'rev-parse', '--verify', '--quiet', `refs/heads/${c.branch}`); return true; } catch { return false; } })()) {
      assert.ok(performance.now() < branchDeadline, "C's branch was never made");
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(!forJobState(b.id).includes('review'), 'B was still working when A landed and C was created');
    await sse.waitFor(reached(b.id, 'review'), STEP_MS, 'B in review');
    stopB();
    // B's end-of-turn check is logged once done.
    const deadline = performance.now() + ALARM_MS;
    const logged = () => readFileSync(join(home, 'logs', 'codeplane.log'), 'utf8').split('\n').filter((l) => l.includes(b.id) && l.includes('"ref guard: turn checked"'));
    while (logged().length === 0) {
      assert.ok(performance.now() < deadline, "B's turn was never checked");
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(sse.events.filter((e) => e.event === 'containment_alarm').map((e) => e.data['message']), [], 'no alarm on any job');
    assert.equal(git(repo, 'rev-parse', 'main'), landed, "A's merge is still on main");
    assert.equal(git(repo, 'log', '-1', '--format=%s', b.branch), 'from-b', "B's own commit is on B's branch");
    assert.ok(git(repo, 'rev-parse', c.branch), "C's branch is still there");
    rmSync(gate, { force: true });
    await sse.waitFor(reached(c.id, 'review'), STEP_MS, 'C in review');
  });

  const forJobState = (jobId: string): string[] => sse.events.filter((e) => e.event === 'job_state_changed' && e.data['jobId'] === jobId).map((e) => String(e.data['to']));
});
