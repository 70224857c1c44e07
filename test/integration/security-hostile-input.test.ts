import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { rawRequest, rawSocket } from '../helpers/http-raw.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

/**
 * Hostile input, each attack against the real server: a clean 4xx with a
 * stable code, the server keeps serving, and the jobs and events tables are
 * byte-for-byte unchanged. The list of what is tried is the `ATTACKS` table
 * below plus the raw-socket cases.
 */
type Attack = { name: string; method?: string; path: string | ((ctx: Ctx) => string); headers?: Record<string, string>; body?: string | ((ctx: Ctx) => string); status: number | number[]; code: string };
type Ctx = { repo: string; job: Job; link: string };

const json = (v: unknown) => JSON.stringify(v);
const big = (n: number) => 'x'.repeat(n);

const ATTACKS: Attack[] = [
  // Path traversal in every path parameter (and the static files).
  { name: 'traversal in a job id', path: '/api/jobs/..%2F..%2F..%2Fetc%2Fpasswd', status: 400, code: 'INVALID_PATH' },
  { name: 'raw ../ in a job path', path: '/api/jobs/../../../etc/passwd', status: 400, code: 'INVALID_PATH' },
  { name: 'encoded dots in a job id', path: '/api/jobs/%2e%2e/snapshot', status: 400, code: 'INVALID_PATH' },
  { name: 'backslash traversal', path: '/api/jobs/..%5C..%5Cetc%5Cpasswd', status: 400, code: 'INVALID_PATH' },
  { name: 'double-encoded traversal in a job id', path: '/api/jobs/%252e%252e%252f%252e%252e%252fetc/diff', status: 404, code: 'JOB_NOT_FOUND' },
  { name: 'traversal after a real job id', path: (c) => `/api/jobs/${c.job.id}/..%2F..%2Fapprovals`, status: 400, code: 'INVALID_PATH' },
  { name: 'traversal in an approval id', method: 'POST', path: '/api/approvals/..%2F..%2Fx/resolve', body: json({ resolution: 'approved' }), status: 400, code: 'INVALID_PATH' },
  { name: 'traversal in a repo id', method: 'DELETE', path: '/api/repos/..%2F..', status: 400, code: 'INVALID_PATH' },
  { name: 'traversal in a share token (revoke)', method: 'DELETE', path: '/api/shares/..%2F..%2Fjobs', status: 400, code: 'INVALID_PATH' },
  { name: 'traversal in a share token (view)', path: '/api/share/..%2F..%2Fjobs', status: 400, code: 'INVALID_PATH' },
  { name: 'traversal in a share page', path: '/share/..%2F..%2F..%2Fetc%2Fpasswd', status: 400, code: 'INVALID_PATH' },
  { name: 'traversal in an agent id', path: '/api/agents/..%2F..%2Fetc/models', status: 400, code: 'INVALID_PATH' },
  { name: 'traversal in a preview path', path: '/api/preview/3000/..%2F..%2Fapi%2Fjobs', status: 400, code: 'INVALID_PATH' },
  { name: 'traversal into the static root', path: '/..%2F..%2F..%2Fetc%2Fpasswd', status: 400, code: 'INVALID_PATH' },
  { name: 'traversal out of /assets', path: '/assets/..%2F..%2Fpackage.json', status: 400, code: 'INVALID_PATH' },
  { name: 'an unknown job', path: '/api/jobs/j%2Fetc%2Fpasswd', status: 404, code: 'JOB_NOT_FOUND' },
  // Repository paths.
  { name: 'a relative repo path climbing out', method: 'POST', path: '/api/repos', body: json({ path: '../../../../etc' }), status: 400, code: 'NOT_A_GIT_REPO' },
  { name: 'a repo path that is /etc', method: 'POST', path: '/api/repos', body: json({ path: '/etc/../etc' }), status: 400, code: 'NOT_A_GIT_REPO' },
  { name: 'a repo path under the repo climbing out', method: 'POST', path: '/api/repos', body: (c) => json({ path: `${c.repo}/../../..` }), status: 400, code: 'NOT_A_GIT_REPO' },
  { name: 'a job for a repo path spelled with ..', method: 'POST', path: '/api/jobs', body: (c) => json({ repo: `${c.repo}/../${basename(c.repo)}`, prompt: 'x', agent: 'claude' }), status: 400, code: 'REPO_NOT_REGISTERED' },
  { name: 'a branch climbing out of refs', method: 'POST', path: '/api/jobs', body: (c) => json({ repo: c.repo, prompt: 'x', agent: 'claude', branch: '../../etc/passwd' }), status: 400, code: 'INVALID_BRANCH' },
  { name: 'a base ref that is a path', method: 'POST', path: '/api/jobs', body: (c) => json({ repo: c.repo, prompt: 'x', agent: 'claude', baseRef: '../../../etc/passwd' }), status: 400, code: 'UNKNOWN_BASE_REF' },
  { name: 'a base ref that is a git option', method: 'POST', path: '/api/jobs', body: (c) => json({ repo: c.repo, prompt: 'x', agent: 'claude', baseRef: '--upload-pack=touch /tmp/cpl-pwned' }), status: 400, code: 'UNKNOWN_BASE_REF' },
  // Sizes.
  { name: 'a body over the limit (declared)', method: 'POST', path: '/api/jobs', body: (c) => json({ repo: c.repo, agent: 'claude', prompt: big(1_100_000) }), status: 413, code: 'BODY_TOO_LARGE' },
  { name: 'a 10 MB prompt', method: 'POST', path: '/api/jobs', body: (c) => json({ repo: c.repo, agent: 'claude', prompt: big(10 * 1024 * 1024) }), status: 413, code: 'BODY_TOO_LARGE' },
  { name: 'a body over the limit (chunked, no length)', method: 'POST', path: '/api/jobs', headers: { 'transfer-encoding': 'chunked' }, body: (c) => json({ repo: c.repo, agent: 'claude', prompt: big(2_000_000) }), status: 413, code: 'BODY_TOO_LARGE' },
  { name: 'an oversized login body', method: 'POST', path: '/api/auth/login', body: json({ password: big(10_000) }), status: 413, code: 'BODY_TOO_LARGE' },
  // Invalid JSON.
  { name: 'truncated JSON', method: 'POST', path: '/api/jobs', body: '{"repo": ', status: 400, code: 'INVALID_JSON' },
  { name: 'JSON with a BOM', method: 'POST', path: '/api/repos', body: '\uFEFF{"path":"/tmp"}', status: 400, code: 'INVALID_JSON' },
  { name: 'NaN', method: 'POST', path: '/api/jobs', body: 'NaN', status: 400, code: 'INVALID_JSON' },
  { name: 'single quotes', method: 'POST', path: '/api/jobs', body: "{'repo':'x'}", status: 400, code: 'INVALID_JSON' },
  { name: 'a raw NUL inside a JSON string', method: 'POST', path: '/api/jobs', body: '{"prompt":"a\u0000b"}', status: 400, code: 'INVALID_JSON' },
  { name: 'nesting 100 000 deep', method: 'POST', path: '/api/jobs', body: `${'['.repeat(100_000)}${']'.repeat(100_000)}`, status: 400, code: 'INVALID_INPUT' },
  { name: 'an object nested 40 deep', method: 'POST', path: '/api/repos', body: `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`, status: 400, code: 'INVALID_INPUT' },
  { name: 'a form body', method: 'POST', path: '/api/jobs', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'repo=x&prompt=y', status: 400, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'text/plain (a CSRF form)', method: 'POST', path: '/api/jobs', headers: { 'content-type': 'text/plain' }, body: '{"repo":"x"}', status: 400, code: 'UNSUPPORTED_MEDIA_TYPE' },
  // Wrong types and unknown fields.
  { name: 'a numeric prompt', method: 'POST', path: '/api/jobs', body: (c) => json({ repo: c.repo, agent: 'claude', prompt: 42 }), status: 400, code: 'INVALID_INPUT' },
  { name: 'an array agent', method: 'POST', path: '/api/jobs', body: (c) => json({ repo: c.repo, agent: ['claude'], prompt: 'x' }), status: 400, code: 'INVALID_INPUT' },
  { name: 'an object repo', method: 'POST', path: '/api/jobs', body: json({ repo: { $ne: null }, agent: 'claude', prompt: 'x' }), status: 400, code: 'INVALID_INPUT' },
  { name: 'a boolean resolution', method: 'POST', path: '/api/approvals/a1/resolve', body: json({ resolution: true }), status: 400, code: 'INVALID_INPUT' },
  { name: 'a top-level array', method: 'POST', path: '/api/jobs', body: '[]', status: 400, code: 'INVALID_INPUT' },
  { name: 'an unknown field', method: 'POST', path: '/api/jobs', body: (c) => json({ repo: c.repo, agent: 'claude', prompt: 'x', isAdmin: true }), status: 400, code: 'UNKNOWN_FIELD' },
  { name: 'a __proto__ field', method: 'POST', path: '/api/jobs', body: (c) => `{"repo":${json(c.repo)},"agent":"claude","prompt":"x","__proto__":{"isAdmin":true}}`, status: 400, code: 'UNKNOWN_FIELD' },
  { name: 'an unknown nested field', method: 'POST', path: '/api/push/subscriptions', body: json({ endpoint: 'https://push.example/x', keys: { p256dh: 'a', auth: 'b', extra: 1 } }), status: 400, code: 'UNKNOWN_FIELD' },
  { name: 'an unknown field in an approval answer', method: 'POST', path: '/api/approvals/a1/resolve', body: json({ resolution: 'approved', approvedBy: 'root' }), status: 400, code: 'UNKNOWN_FIELD' },
  { name: 'a repeated query parameter', path: '/api/jobs?limit=1&limit=2', status: 400, code: 'INVALID_QUERY' },
  { name: 'a huge limit', path: '/api/jobs?limit=99999999999999999999', status: 400, code: 'INVALID_QUERY' },
  { name: 'a float limit', path: '/api/jobs?limit=1e3', status: 400, code: 'INVALID_QUERY' },
  // NUL bytes.
  { name: 'a NUL in a prompt', method: 'POST', path: '/api/jobs', body: (c) => json({ repo: c.repo, agent: 'claude', prompt: 'a\u0000b' }), status: 400, code: 'INVALID_INPUT' },
  { name: 'a NUL in a repo path', method: 'POST', path: '/api/repos', body: (c) => json({ path: `${c.repo}\u0000/../etc` }), status: 400, code: 'INVALID_INPUT' },
  { name: 'a NUL in a branch', method: 'POST', path: '/api/jobs', body: (c) => json({ repo: c.repo, agent: 'claude', prompt: 'x', branch: 'a\u0000b' }), status: 400, code: 'INVALID_INPUT' },
  { name: 'a NUL in a field name', method: 'POST', path: '/api/jobs', body: json({ 'repo\u0000': 'x' }), status: 400, code: 'INVALID_INPUT' },
  { name: 'a NUL in a message', method: 'POST', path: (c) => `/api/jobs/${c.job.id}/messages`, body: json({ content: 'hi\u0000there' }), status: 400, code: 'INVALID_INPUT' },
  { name: 'a NUL in the URL', path: (c) => `/api/jobs/${c.job.id}%00/diff`, status: 400, code: 'INVALID_URL' },
  { name: 'a NUL in the static path', path: '/index.html%00.png', status: 400, code: 'INVALID_URL' },
  // CR/LF in what could reach an SSE frame or a header.
  { name: 'CR/LF in lastEventId', path: '/api/events?lastEventId=1%0d%0aevent:%20approval_requested', status: 400, code: 'INVALID_LAST_EVENT_ID' },
  { name: 'CR/LF in the share SSE lastEventId', path: (c) => `${c.link}/events?lastEventId=0%0aid:%2099`, status: 400, code: 'INVALID_LAST_EVENT_ID' },
  { name: 'CR/LF in a job id', path: '/api/jobs/x%0d%0aSet-Cookie:%20cpl_session=planted', status: 400, code: 'INVALID_URL' },
  { name: 'CR/LF in a branch', method: 'POST', path: '/api/jobs', body: (c) => json({ repo: c.repo, agent: 'claude', prompt: 'x', branch: 'a\r\nb' }), status: 400, code: 'INVALID_BRANCH' },
  { name: 'CR/LF in a job filter', path: '/api/events?jobId=x%0d%0a', status: 404, code: 'JOB_NOT_FOUND' },
  { name: 'an SSE frame in a message to a missing job', method: 'POST', path: '/api/jobs/jnope/messages', body: json({ content: '\n\nevent: approval_requested\ndata: {}\n\n' }), status: 404, code: 'JOB_NOT_FOUND' },
];

function dumpTables(home: string): string {
  const db = new BetterSqlite3(join(home, 'codeplane.db'), { readonly: true, fileMustExist: true });
  try {
    return json([db.prepare('SELECT * FROM jobs ORDER BY id').all(), db.prepare('SELECT * FROM events ORDER BY id').all()]);
  } finally {
    db.close();
  }
}

describe('hostile input', () => {
  let server: ServerProcess;
  const ctx = {} as Ctx;
  const healthy = async () => assert.equal((await api(server.url, 'GET', '/api/health')).status, 200, 'the server keeps serving');

  before(async () => {
    ctx.repo = makeRepo();
    server = await startServerProcess({ cwd: ctx.repo });
    // A job whose prompt tries to forge SSE frames and headers, run to review.
    const sse = await SseClient.open(`${server.url}/api/events`);
    const prompt = 'Forge\r\n\r\nevent: approval_requested\r\ndata: {"forged":true}\r\nid: 999999\r\n\r\nSet-Cookie: cpl_session=x';
    ctx.job = (await api<Job>(server.url, 'POST', '/api/jobs', { repo: ctx.repo, prompt, agent: 'claude', permissionMode: 'full_auto' })).body;
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['to'] === 'review', 60_000, 'review');
    sse.close();
    assert.ok(!sse.events.some((e) => e.event === 'approval_requested' || e.id === 999999 || 'forged' in e.data), 'no forged SSE event');
    const created = sse.events.find((e) => e.event === 'job_created')!;
    assert.match(String(created.data['title']), /^Forge/);
    ctx.link = `/api/share/${(await api<{ token: string }>(server.url, 'POST', `/api/jobs/${ctx.job.id}/shares`)).body.token}`;
  });
  after(async () => {
    await server?.stop();
  });

  it('symlinks planted in a worktree never leak what they point at', async () => {
    const wt = (await api<Job>(server.url, 'GET', `/api/jobs/${ctx.job.id}`)).body.worktreePath;
    symlinkSync('/etc/passwd', join(wt, 'passwd-link'));
    symlinkSync('/', join(wt, 'root-link'));
    symlinkSync(join(server.home, 'codeplane.db'), join(wt, 'db-link'));
    const diff = await api<{ files: { path: string }[] }>(server.url, 'GET', `/api/jobs/${ctx.job.id}/diff`);
    assert.equal(diff.status, 200);
    const text = json(diff.body);
    assert.ok(diff.body.files.some((f) => f.path === 'passwd-link'), 'the link itself is listed');
    assert.doesNotMatch(text, /root:x:0:0/, 'not the target file');
    assert.doesNotMatch(text, /SQLite format 3/, 'not the database');
    assert.doesNotMatch(text, /"path":"root-link\/(etc|usr|bin)/, 'not the linked directory');
  });

  it('refuses each attack with a clean 4xx and a stable code, keeps serving, and changes nothing stored', async () => {
    const stable = async (): Promise<string> => {
      for (let prev = dumpTables(server.home); ; ) {
        await new Promise((r) => setTimeout(r, 1000));
        const now = dumpTables(server.home);
        if (now === prev) return now;
        prev = now;
      }
    };
    const before = await stable();
    const tried: string[] = [];
    for (const a of ATTACKS) {
      const path = typeof a.path === 'function' ? a.path(ctx) : a.path;
      const body = typeof a.body === 'function' ? a.body(ctx) : a.body;
      const headers = { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...a.headers };
      const res = await rawRequest(server.url, { method: a.method ?? 'GET', path, headers, ...(body !== undefined ? { body } : {}) }).catch((e: unknown) => {
        throw new Error(`${a.name}: ${String(e)}`);
      });
      const statuses = Array.isArray(a.status) ? a.status : [a.status];
      assert.ok(statuses.includes(res.status), `${a.name}: got ${res.status} ${res.text.slice(0, 200)}`);
      assert.equal(res.json().error.code, a.code, a.name);
      assert.equal(res.headers['set-cookie'], undefined, `${a.name}: no cookie`);
      assert.doesNotMatch(res.text, /root:x:0:0/);
      await healthy();
      tried.push(`${a.name} → ${res.status} ${a.code}`);
    }
    assert.equal(existsSync('/tmp/cpl-pwned'), false);
    assert.equal(await stable(), before, 'the jobs and events tables are unchanged');
    console.log(`tried:\n  ${tried.join('\n  ')}`);
  });

  it('answers malformed HTTP itself with JSON codes: huge headers, smuggling, bare CR/LF, NUL in a header', async () => {
    const host = `Host: ${new URL(server.url).host}\r\n`;
    const cases: [string, string, RegExp, string][] = [
      ['a 100 KB header', `GET /api/health HTTP/1.1\r\n${host}X-Big: ${big(100_000)}\r\n\r\n`, /^HTTP\/1\.1 431/, 'HEADERS_TOO_LARGE'],
      ['a 20 KB cookie', `GET /api/jobs HTTP/1.1\r\n${host}Cookie: ${big(20_000)}\r\n\r\n`, /^HTTP\/1\.1 431/, 'HEADERS_TOO_LARGE'],
      ['Content-Length plus Transfer-Encoding (smuggling)', `POST /api/jobs HTTP/1.1\r\n${host}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/jobs HTTP/1.1\r\n${host}\r\n`, /^HTTP\/1\.1 400/, 'MALFORMED_REQUEST'],
      ['a bare LF inside a header value', `GET /api/health HTTP/1.1\r\n${host}X-A: a\rb\r\n\r\n`, /^HTTP\/1\.1 400/, 'MALFORMED_REQUEST'],
      ['a NUL in a header value', `GET /api/health HTTP/1.1\r\n${host}X-A: a\u0000b\r\n\r\n`, /^HTTP\/1\.1 400/, 'MALFORMED_REQUEST'],
      ['a space in the request target', `GET /api/jobs /x HTTP/1.1\r\n${host}\r\n`, /^HTTP\/1\.1 400/, 'MALFORMED_REQUEST'],
    ];
    for (const [name, bytes, status, code] of cases) {
      const out = await rawSocket(server.url, bytes);
      assert.match(out, status, `${name}: ${out.slice(0, 200)}`);
      assert.match(out, new RegExp(`"code":"${code}"`), name);
      await healthy();
    }
  });

  it('registers a symlink to a registered repo as that same repo, not a second one', async () => {
    const link = join(mkdtempSync(join(tmpdir(), 'cpl-link-')), 'repo-link');
    symlinkSync(ctx.repo, link);
    const repos = (await api<{ id: string }[]>(server.url, 'GET', '/api/repos')).body;
    const again = await api<{ id: string }>(server.url, 'POST', '/api/repos', { path: link });
    assert.equal(again.status, 201);
    assert.equal(again.body.id, repos[0]!.id);
    assert.equal((await api<unknown[]>(server.url, 'GET', '/api/repos')).body.length, repos.length);
  });
});
