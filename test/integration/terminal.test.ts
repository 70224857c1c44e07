/**
 * The job terminal end to end: the real server, a real job in review with the
 * fake Claude CLI, a real shell in its worktree, spoken to with the `ws`
 * client as a browser would (same Origin), and refused as an attacker would
 * be (foreign Origin, wrong Host, no credentials, a share token).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { alive, waitFor } from '../helpers/processes.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

type Err = { error: { code: string; message: string } };

/** A terminal WebSocket with everything it received, as text. */
class Term {
  out = '';
  closed: Promise<{ code: number; reason: string }>;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      assert.ok(isBinary, 'terminal output travels in binary frames');
      this.out += data.toString('utf8');
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static open(base: string, jobId: string, headers: Record<string, string> = {}, query = ''): Promise<Term> {
    const url = `${base.replace(/^http/, 'ws')}/api/jobs/${jobId}/terminal${query}`;
    const ws = new WebSocket(url, { headers: { origin: base, ...headers } });
    const term = new Term(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(term));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Types a line (binary frame, as the browser sends keystrokes). */
  type(line: string): void {
    this.ws.send(Buffer.from(`${line}\r`), { binary: true });
  }

  /** Waits for `re` in the output received since `from` and returns its first group. */
  async expect(re: RegExp, what: string, from = 0, timeoutMs = 15_000): Promise<string> {
    let m: RegExpExecArray | null = null;
    try {
      await waitFor(() => (m = re.exec(this.out.slice(from))) !== null, timeoutMs, what);
    } catch (e) {
      throw new Error(`${(e as Error).message}; the terminal printed ${JSON.stringify(this.out.slice(from).slice(-600))}`);
    }
    return m![1] ?? m![0];
  }

  /**
   * Echoes a shell expression between unique markers and returns what the shell printed there.
   * The markers are split by quotes in the typed line, so the terminal's echo of that line never matches.
   */
  async run(expr: string, what: string, before = ''): Promise<string> {
    const [a, b] = [randomBytes(3).toString('hex'), randomBytes(3).toString('hex')];
    const from = this.out.length;
    this.type(`${before}echo "<${a}""${b}${expr}""${a}""${b}>"`); // the "" ends a variable name in expr
    return this.expect(new RegExp(`<${a}${b}([^\\r\\n]*?)${a}${b}>`), what, from);
  }

  async shellPid(): Promise<number> {
    return Number(await this.run('$$', 'the shell pid'));
  }

  close(): void {
    this.ws.close();
  }
}

/** A raw WebSocket handshake, to see the HTTP answer of a refused upgrade. */
function handshake(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; body?: Err }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), ...headers } });
    req.on('upgrade', (res: IncomingMessage, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(text ? { body: JSON.parse(text) as Err } : {}) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function reachReview(base: string, repo: string, headers: Record<string, string> = {}): Promise<Job> {
  const created = await api<Job>(base, 'POST', '/api/jobs', { repo, prompt: 'hello', agent: 'claude', permissionMode: 'full_auto' }, headers);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (let i = 0; i < 600; i++) {
    const job = (await api<Job>(base, 'GET', `/api/jobs/${created.body.id}`, undefined, headers)).body;
    if (job.state === 'review') return job;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the job never reached review');
}

describe('the job terminal', { timeout: 180_000 }, () => {
  let repo: string;
  let server: ServerProcess;
  let job: Job;

  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({ cwd: repo });
    const reg = await api(server.url, 'POST', '/api/repos', { path: repo });
    assert.ok(reg.status === 201 || reg.status === 200 || reg.status === 409, `register: ${reg.status}`);
    job = await reachReview(server.url, repo);
  });
  after(async () => {
    await server?.stop();
  });

  it('opens a shell in the job\'s worktree', async () => {
    const t = await Term.open(server.url, job.id);
    assert.equal(await t.run('$(pwd)', 'pwd'), job.worktreePath);
    assert.equal(await t.run('$TERM', 'TERM'), 'xterm-256color');
    assert.equal(await t.run('$CODEPLANE_JOB_ID', 'job id'), job.id);
    t.close();
    await t.closed;
  });

  it('starts at the size asked for in the query and follows resize messages', async () => {
    const t = await Term.open(server.url, job.id, {}, '?cols=91&rows=27');
    assert.equal(await t.run('$(stty size)', 'initial size'), '27 91');
    t.ws.send(JSON.stringify({ type: 'resize', cols: 132, rows: 43 }));
    assert.equal(await t.run('$(stty size)', 'size after resize'), '43 132');
    // bash updates COLUMNS on SIGWINCH, after the next command.
    assert.equal(await t.run('$COLUMNS', 'COLUMNS'), '132');
    t.ws.send(JSON.stringify({ type: 'input', data: 'echo "in""put-as-text"\r' }));
    await t.expect(/input-as-text/, 'text input through a control message');
    t.close();
    await t.closed;
  });

  it('keeps the shell across attachments and replays its scrollback on re-attach', async () => {
    const a = await Term.open(server.url, job.id);
    const pid = await a.shellPid();
    const marker = await a.run('replay-$((6*7))', 'marker');
    assert.equal(marker, 'replay-42');
    a.close();
    await a.closed;
    const b = await Term.open(server.url, job.id);
    await b.expect(/replay-42/, 'the replayed scrollback');
    assert.equal(await b.shellPid(), pid, 'the same shell');
    // Two attachments at once share the shell: both see what one types.
    const c = await Term.open(server.url, job.id);
    const from = c.out.length;
    b.type('echo "sha""red-output"');
    await c.expect(/shared-output/, 'output typed by another attachment', from);
    b.close();
    c.close();
    await Promise.all([b.closed, c.closed]);
  });

  it('closes on a malformed control message without harming the shell or the server', async () => {
    const pid = await (async () => {
      const t = await Term.open(server.url, job.id);
      const p = await t.shellPid();
      t.close();
      return p;
    })();
    const bad = ['not json', '{"type":"resize","cols":0,"rows":24}', '{"type":"resize","cols":80,"rows":1001}', '{"type":"resize","cols":80.5,"rows":24}', '{"type":"resize","cols":"80","rows":24}', '{"type":"launch"}', '[1,2]', 'null', '{"type":"input","data":7}'];
    for (const text of bad) {
      const t = await Term.open(server.url, job.id);
      t.ws.send(text);
      const { code, reason } = await t.closed;
      assert.equal(code, 1008, text);
      assert.match(reason, /^INVALID_MESSAGE: /, text);
    }
    assert.equal((await api(server.url, 'GET', '/api/health')).status, 200);
    const t = await Term.open(server.url, job.id);
    assert.equal(await t.shellPid(), pid, 'the shell survived');
    t.close();
    await t.closed;
  });

  it('refuses bad initial sizes, unknown jobs, foreign origins and foreign hosts before upgrading', async () => {
    const path = `/api/jobs/${job.id}/terminal`;
    const ok = await handshake(server.url, path, { origin: server.url });
    assert.equal(ok.status, 101, 'the control case upgrades');
    const cases: [string, Record<string, string>, number, string][] = [
      [path, { origin: 'http://evil.example' }, 403, 'ORIGIN_NOT_ALLOWED'],
      [path, { origin: 'null' }, 403, 'ORIGIN_NOT_ALLOWED'],
      [path, { 'sec-fetch-site': 'cross-site' }, 403, 'ORIGIN_NOT_ALLOWED'],
      [path, { host: 'evil.example', origin: 'http://evil.example' }, 403, 'HOST_NOT_ALLOWED'],
      [path, { host: `rebind.example:${new URL(server.url).port}` }, 403, 'HOST_NOT_ALLOWED'],
      [`${path}?cols=0&rows=24`, {}, 400, 'INVALID_INPUT'],
      [`${path}?cols=80`, {}, 400, 'INVALID_INPUT'],
      [`/api/jobs/jnope/terminal`, {}, 404, 'JOB_NOT_FOUND'],
    ];
    for (const [p, headers, status, code] of cases) {
      const res = await handshake(server.url, p, headers);
      assert.equal(res.status, status, `${p} ${JSON.stringify(headers)}`);
      assert.equal(res.body?.error.code, code, `${p} ${JSON.stringify(headers)}`);
    }
    await assert.rejects(Term.open(server.url, job.id, { origin: 'http://evil.example' }), /refused with 403/);
  });

  it('ends with code 4002 when the shell exits, and the next attachment gets a fresh shell', async () => {
    const t = await Term.open(server.url, job.id);
    const pid = await t.shellPid();
    t.type('exit');
    const { code, reason } = await t.closed;
    assert.equal(code, 4002);
    assert.match(reason, /^SHELL_EXITED: /);
    await waitFor(() => !alive(pid), 10_000, 'the old shell to be gone');
    const fresh = await Term.open(server.url, job.id);
    assert.notEqual(await fresh.shellPid(), pid);
    fresh.close();
    await fresh.closed;
  });

  it('closes the terminal and kills the shell (and its jobs) when the job is resolved', async () => {
    const t = await Term.open(server.url, job.id);
    const pid = await t.shellPid();
    const child = Number(await t.run('$!', 'a background job', 'sleep 600 & '));
    assert.ok(alive(pid) && alive(child));
    const resolved = await api(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'discard' });
    assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
    const { code, reason } = await t.closed;
    assert.equal(code, 4001);
    assert.match(reason, /^JOB_RESOLVED: the job was discarded/);
    await waitFor(() => !alive(pid), 10_000, 'the shell to be gone');
    await waitFor(() => !alive(child), 10_000, 'its background job to be gone');
    const again = await handshake(server.url, `/api/jobs/${job.id}/terminal`, {});
    assert.equal(again.status, 409);
    assert.equal(again.body?.error.code, 'NO_WORKTREE');
  });
});

describe('the job terminal when authentication is required', { timeout: 180_000 }, () => {
  let repo: string;
  let server: ServerProcess;
  let bearer: Record<string, string>;
  let job: Job;

  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({ cwd: repo, env: { CPL_PASSWORD: 'terminal test password', CPL_TERMINAL_KEEPALIVE_MS: '200', CODEPLANE_TERMINAL_PROBE: 'server-only' } });
    bearer = { authorization: `Bearer ${readFileSync(join(server.home, 'run/cli-token'), 'utf8').trim()}` };
    job = await reachReview(server.url, repo, bearer);
  });
  after(async () => {
    await server?.stop();
  });

  it('refuses an upgrade without credentials or with forged ones', async () => {
    const path = `/api/jobs/${job.id}/terminal`;
    const forged: Record<string, string>[] = [{}, { authorization: 'Bearer cpt_forged' }, { cookie: 'cpl_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }];
    for (const headers of forged) {
      const res = await handshake(server.url, path, { origin: server.url, ...headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.body?.error.code, 'UNAUTHENTICATED');
    }
    await assert.rejects(Term.open(server.url, job.id), /refused with 401/);
  });

  it('opens with a bearer token or a session cookie, and never the shell the server\'s password', async () => {
    const t = await Term.open(server.url, job.id, bearer);
    assert.equal(await t.run('$(pwd)', 'pwd'), job.worktreePath);
    assert.equal(await t.run('[$CPL_PASSWORD]', 'the password variable'), '[]');
    assert.equal(await t.run('[$(env | grep -c -E "^(CPL|CODEPLANE)_" | grep -v "^1$")]', "CodePlane's own variables (only CODEPLANE_JOB_ID)"), '[]');
    assert.equal(await t.run('[$CODEPLANE_TERMINAL_PROBE$CPL_TERMINAL_KEEPALIVE_MS]', 'server variables'), '[]');
    assert.equal(await t.run('[$CODEPLANE_JOB_ID]', 'the job id'), `[${job.id}]`);
    t.close();
    await t.closed;
    const login = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: 'terminal test password' }) });
    assert.equal(login.status, 200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const c = await Term.open(server.url, job.id, { cookie });
    assert.equal(await c.run('cookie-$((2+3))', 'with a cookie'), 'cookie-5');
    c.close();
    await c.closed;
  });

  it('refuses a share token, even next to valid credentials', async () => {
    const share = await api<{ token: string }>(server.url, 'POST', `/api/jobs/${job.id}/shares`, undefined, bearer);
    assert.equal(share.status, 201);
    const path = `/api/jobs/${job.id}/terminal`;
    for (const [p, headers] of [
      [path, { authorization: `Bearer ${share.body.token}` }],
      [`${path}?token=${share.body.token}`, bearer],
      [path, { ...bearer, 'x-share-token': share.body.token }],
    ] as const) {
      const res = await handshake(server.url, p, { origin: server.url, ...headers });
      assert.equal(res.status, 403, p);
      assert.equal(res.body?.error.code, 'SHARE_TOKEN_FORBIDDEN');
    }
  });

  it('ends an open terminal (4401) when its session logs out', async () => {
    const login = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: 'terminal test password' }) });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const t = await Term.open(server.url, job.id, { cookie });
    await t.shellPid();
    const out = await fetch(`${server.url}/api/auth/logout`, { method: 'POST', headers: { cookie, origin: server.url } });
    assert.equal(out.status, 204);
    const { code, reason } = await t.closed;
    assert.equal(code, 4401);
    assert.match(reason, /^UNAUTHENTICATED: /);
  });

  it('closes open terminals with 1001 and kills their shells when the server stops', async () => {
    const t = await Term.open(server.url, job.id, bearer);
    const pid = await t.shellPid();
    const stopped = server.stop();
    const { code, reason } = await t.closed;
    assert.equal(code, 1001);
    assert.match(reason, /^SERVER_STOPPING: /);
    assert.equal(await stopped, 0, server.output());
    assert.ok(!alive(pid), 'the shell is gone once the server has stopped');
  });
});
