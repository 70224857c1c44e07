/**
 * Issue 13 item 5: a share shows neither secrets nor local paths, through the REST view and the
 * SSE stream alike (one projection, supervisor/share-projection.ts). A real server, a job whose
 * prompt, tool output and approval carry a GitHub token, a secret of the server's environment
 * (never given to the agent, so only the share projection can know to hide it) and absolute
 * paths (the worktree, the user's checkout, the home directory); the owner's own views show
 * them (the control), the share's views do not. An event type the projection does not know,
 * written straight into the database, is not streamed to a share.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Approval, Job, ShareView, TranscriptEntry } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

const STEP_MS = 180_000;
const rnd = (n: number): string => Array.from({ length: n }, (_, i) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[(i * 11 + 5) % 62]).join('');
const GHP = `ghp_${rnd(36)}`;
/** A secret of the server's environment in no recognisable shape: only its value identifies it. */
const DEPLOY_SECRET = 'plainly-deploy-value-77';
const BEARER = rnd(32);

describe('issue 13: a share shows no secret and no local path (REST view and SSE stream)', () => {
  let server: ServerProcess;
  let repo: string;
  let auth: Record<string, string>;
  let job: Job;
  let share: { token: string };
  let live: SseClient;
  const own = <T>(method: string, path: string, body?: unknown) => api<T>(server.url, method, path, body, auth);

  before(async () => {
    repo = makeRepo('cpl-share-proj-repo-');
    server = await startServerProcess({ cwd: repo, env: { CPL_PASSWORD: 'share projection password', DEPLOY_TOKEN: DEPLOY_SECRET, COPILOT_HOME: undefined, CLAUDE_CONFIG_DIR: undefined } });
    auth = { authorization: `Bearer ${readFileSync(join(server.home, 'run/cli-token'), 'utf8').trim()}` };
  });
  after(async () => {
    live?.close();
    await server?.stop();
  });

  /** Everything that must not reach a share, given the job. */
  const forbidden = (): [string, string][] => [
    ['GitHub token', GHP],
    ['server secret', DEPLOY_SECRET],
    ['bearer token', BEARER],
    ['worktree path', job.worktreePath],
    ['repository path', repo],
    ['home directory', server.home],
    ['agent session id', job.agentSessionId ?? 'no-session-id-yet'],
  ];
  const assertClean = (what: string, text: string) => {
    for (const [name, v] of forbidden()) assert.equal(text.includes(v), false, `${what} shows the ${name}: ${text.slice(Math.max(0, text.indexOf(v) - 200), text.indexOf(v) + 100)}`);
  };

  it('a job whose prompt, tool output and approval carry them', { timeout: STEP_MS * 2 }, async () => {
    const prompt = [
      `Deploy with ${GHP} and ${DEPLOY_SECRET} from ${repo}/src, notes in ${server.home}/notes.`,
      `[[bash echo ${DEPLOY_SECRET} && pwd && echo ${repo}/src ${server.home}/x && echo Authorization: Bearer ${BEARER}]]`,
      `[[bash touch ${DEPLOY_SECRET}.txt && echo ${repo}]]`,
    ].join('\n');
    const created = await own<Job>('POST', '/api/jobs', { repo, agent: 'claude', prompt, permissionMode: 'review_and_approve' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    job = created.body;
    const res = await own<{ token: string }>('POST', `/api/jobs/${job.id}/shares`);
    assert.equal(res.status, 201);
    share = res.body;
    live = await SseClient.open(`${server.url}/api/share/${share.token}/events`, 0);
    assert.equal(live.status, 200);

    const asked = await live.waitFor((e) => e.event === 'approval_requested', STEP_MS, 'the approval on the share stream');
    const approval = asked.data['approval'] as Approval;
    assert.deepEqual(approval.detail, {}, 'summaries only: no tool input');
    assert.equal(approval.summary, 'touch [REDACTED:env:DEPLOY_TOKEN].txt && echo [repo]');
    const pending = await api<ShareView>(server.url, 'GET', `/api/share/${share.token}`);
    assert.deepEqual(pending.body.pendingApprovals.map((a) => a.summary), [approval.summary]);
    assertClean('the REST view with an approval pending', JSON.stringify(pending.body));
    // The owner's approval holds the real command: the projection is what hides it.
    const mine = (await own<Approval[]>('GET', `/api/approvals?jobId=${job.id}`)).body;
    assert.ok(JSON.stringify(mine).includes(DEPLOY_SECRET), 'control: the owner sees the command');
    assert.equal((await own('POST', `/api/approvals/${approval.id}/resolve`, { resolution: 'approved' })).status, 200);

    await live.waitFor((e) => e.event === 'job_state_changed' && e.data['to'] === 'review', STEP_MS, 'review on the share stream');
    await live.waitFor((e) => e.event === 'diff_update', STEP_MS, 'the diff on the share stream');
    job = (await own<Job>('GET', `/api/jobs/${job.id}`)).body;
    assert.ok(job.agentSessionId, 'the job has an agent session');
  });

  it('the owner sees them: the control that the share had something to hide', async () => {
    const transcript = JSON.stringify((await own<TranscriptEntry[]>('GET', `/api/jobs/${job.id}/transcript?limit=1000`)).body);
    assert.ok(job.prompt.includes(GHP), 'the prompt as typed');
    assert.ok(transcript.includes(job.worktreePath), 'pwd printed the worktree path');
    assert.ok(transcript.includes(DEPLOY_SECRET), 'the worker does not know the server-only secret');
    assert.equal(transcript.includes(BEARER), false, 'the worker redacted the bearer token already');
  });

  it('the REST view: paths relative or hidden, secrets redacted, no session id', async () => {
    const view = await api<ShareView>(server.url, 'GET', `/api/share/${share.token}`);
    assert.equal(view.status, 200);
    const text = JSON.stringify(view.body);
    assertClean('the REST view', text);
    assert.match(view.body.job.prompt, /^Deploy with \[REDACTED:github-token\] and \[REDACTED:env:DEPLOY_TOKEN\] from \[repo\]\/src, notes in /);
    const output = view.body.transcript.find((e) => e.role === 'tool_result' && e.toolOutput?.includes('Authorization'))?.toolOutput ?? '';
    assert.match(output, /^\[REDACTED:env:DEPLOY_TOKEN\]\n\.\n\[repo\]\/src \S+\/x\nAuthorization: Bearer \[REDACTED:/, output);
    assert.deepEqual(view.body.diff?.files.map((f) => f.path), ['[REDACTED:env:DEPLOY_TOKEN].txt']);
  });

  it('the SSE stream, live and replayed: the same projection, no log lines, no session', async () => {
    const replay = await SseClient.open(`${server.url}/api/share/${share.token}/events`, 0);
    try {
      const last = live.lastId;
      await replay.waitFor((e) => e.id >= last, STEP_MS, 'the replay to catch up');
      for (const [name, stream] of [['live', live], ['replayed', replay]] as const) {
        const text = JSON.stringify(stream.events);
        assertClean(`the ${name} SSE stream`, text);
        const types = new Set(stream.events.map((e) => e.event));
        for (const t of ['log_line', 'session_started', 'telemetry', 'job_created']) assert.equal(types.has(t), false, `${name}: ${t} streamed`);
        assert.ok(types.has('transcript_update') && types.has('approval_requested') && types.has('job_state_changed'), `${name}: ${[...types].join(',')}`);
      }
      // The same events in both, byte for byte (ids included).
      const ids = (c: SseClient) => c.events.filter((e) => e.id <= last).map((e) => JSON.stringify(e));
      assert.deepEqual(ids(replay), ids(live));
    } finally {
      replay.close();
    }
  });

  it('an event type it does not know is not streamed to a share (deny by default); the owner\'s stream has it', { timeout: STEP_MS }, async () => {
    const db = new Database(join(server.home, 'codeplane.db'));
    db.pragma('busy_timeout = 10000');
    const payload = { type: 'future_event', path: job.worktreePath, token: GHP, note: 'from a newer CodePlane' };
    const { lastInsertRowid } = db.prepare('INSERT INTO events (job_id, seq, type, payload, ts) VALUES (?, ?, ?, ?, ?)').run(job.id, 900_000, 'future_event', JSON.stringify(payload), new Date().toISOString());
    db.close();
    const futureId = Number(lastInsertRowid);
    // A later real event, so "caught up past it" is observable on both streams.
    assert.equal((await own('POST', `/api/jobs/${job.id}/cancel`)).status, 200);
    const owner = await SseClient.open(`${server.url}/api/events?jobId=${job.id}`, futureId - 1, auth);
    const shared = await SseClient.open(`${server.url}/api/share/${share.token}/events`, futureId - 1);
    try {
      const canceled = (e: { event: string; data: Record<string, unknown> }) => e.event === 'job_state_changed' && e.data['to'] === 'canceled';
      await owner.waitFor(canceled, STEP_MS, 'the cancel on the owner stream');
      await shared.waitFor(canceled, STEP_MS, 'the cancel on the share stream');
      assert.ok(owner.events.some((e) => e.event === 'future_event'), 'control: the row is there to be streamed');
      assert.equal(shared.events.some((e) => e.event === 'future_event' || e.id === futureId), false);
      assertClean('the share stream after an unknown event', JSON.stringify(shared.events));
    } finally {
      owner.close();
      shared.close();
    }
  });
});
