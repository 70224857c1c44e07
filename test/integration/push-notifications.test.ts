import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { waitFor } from '../helpers/processes.ts';
import { PushServiceStandIn, type TestSubscription } from '../helpers/push-service.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { makeTestCert, type TestCert } from '../helpers/test-cert.ts';

type Err = { error: { code: string; field?: string } };
const PASSWORD = 'push test password';

/**
 * Web Push end to end: the real server sends to a local HTTPS push service
 * that verifies the VAPID signature and decrypts each payload.
 */
describe('Web Push notifications', () => {
  let cert: TestCert;
  let service: PushServiceStandIn;
  let server: ServerProcess;
  let repo: string;
  let auth: Record<string, string>;
  let phone: TestSubscription;
  let gone: TestSubscription;
  const start = async (home?: string) => {
    server = await startServerProcess({ cwd: repo, ...(home ? { home } : {}), env: { NODE_EXTRA_CA_CERTS: cert.caFile, CPL_PASSWORD: PASSWORD } });
    auth = { authorization: `Bearer ${readFileSync(join(server.home, 'run/cli-token'), 'utf8').trim()}` };
  };
  const subscriptionRows = (): string[] => {
    const db = new BetterSqlite3(join(server.home, 'codeplane.db'), { readonly: true });
    try {
      return (db.prepare('SELECT endpoint FROM push_subscriptions').all() as { endpoint: string }[]).map((r) => r.endpoint);
    } finally {
      db.close();
    }
  };

  before(async () => {
    cert = makeTestCert();
    service = await PushServiceStandIn.start(cert);
    repo = makeRepo();
    await start();
  });
  after(async () => {
    await server?.stop();
    await service?.close();
  });

  it('generates VAPID keys once into vapid.json (0600) and serves the public key, to logged-in users only', async () => {
    const file = join(server.home, 'vapid.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const keys = JSON.parse(readFileSync(file, 'utf8')) as { publicKey: string; privateKey: string };
    assert.equal((await api(server.url, 'GET', '/api/push/vapid-public-key')).status, 401);
    const res = await api<{ publicKey: string }>(server.url, 'GET', '/api/push/vapid-public-key', undefined, auth);
    assert.deepEqual(res.body, { publicKey: keys.publicKey });
    assert.equal(Buffer.from(keys.publicKey, 'base64url').length, 65);
    assert.ok(!JSON.stringify(res.body).includes(keys.privateKey));
  });

  it('stores subscriptions (201) and refuses malformed ones with a field', async () => {
    phone = service.subscription();
    gone = service.subscription({ gone: true });
    for (const s of [phone, gone]) assert.equal((await api(server.url, 'POST', '/api/push/subscriptions', { ...s, expirationTime: null }, auth)).status, 201);
    const bad: [unknown, string][] = [
      [{ ...phone, endpoint: phone.endpoint.replace('https:', 'http:') }, 'endpoint'],
      [{ ...phone, endpoint: 'not a url' }, 'endpoint'],
      [{ ...phone, endpoint: 'https://user:pw@push.example/x' }, 'endpoint'],
      [{ ...phone, keys: { ...phone.keys, p256dh: 'AAAA' } }, 'keys.p256dh'],
      [{ ...phone, keys: { ...phone.keys, auth: 'not base64!' } }, 'keys.auth'],
      [{ endpoint: phone.endpoint }, 'keys'],
      [{ ...phone, extra: 1 }, 'extra'],
    ];
    for (const [body, field] of bad) {
      const res = await api<Err>(server.url, 'POST', '/api/push/subscriptions', body, auth);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.field, field);
    }
    assert.deepEqual(subscriptionRows().sort(), [gone.endpoint, phone.endpoint].sort());
  });

  it('pushes an approval request (title, what the agent wants, approve/reject, deep link), signed with the VAPID key; drops a subscription the service calls gone', async () => {
    const job = (await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'Greet the team [[write hello.txt hi]]', agent: 'claude' }, auth)).body;
    const push = await service.waitFor((p) => p.payload['type'] === 'approval_requested' && p.payload['jobId'] === job.id && p.path === new URL(phone.endpoint).pathname, 30_000, 'the approval push');
    const p = push.payload as { title: string; body: string; url: string; approvalId: string; actions: { action: string }[]; resolveUrl: string };
    assert.equal(p.title, 'Approval needed: Greet the team [[write hello.txt hi]]');
    assert.match(p.body, /^write: .*hello\.txt/);
    assert.equal(p.url, `/jobs/${job.id}#approval-${p.approvalId}`);
    assert.deepEqual(p.actions.map((a) => a.action), ['approve', 'reject']);
    assert.equal(push.vapidKey, JSON.parse(readFileSync(join(server.home, 'vapid.json'), 'utf8')).publicKey);
    assert.equal(push.headers['urgency'], 'high');
    await waitFor(() => !subscriptionRows().includes(gone.endpoint), 10_000, 'the gone subscription to be dropped');
    assert.ok(subscriptionRows().includes(phone.endpoint));

    // What the service worker does for "Approve": an authenticated call to resolveUrl.
    const answer = await api(server.url, 'POST', p.resolveUrl, { resolution: 'approved' }, auth);
    assert.equal(answer.status, 200);
    const review = await service.waitFor((x) => x.payload['type'] === 'job_review' && x.payload['jobId'] === job.id, 30_000, 'the review push');
    assert.equal(review.payload['url'], `/jobs/${job.id}`);
  });

  it('pushes a failed job', async () => {
    const job = (await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'Doomed [[error]]', agent: 'claude' }, auth)).body;
    const push = await service.waitFor((p) => p.payload['type'] === 'job_failed' && p.payload['jobId'] === job.id, 30_000, 'the failure push');
    assert.equal(push.payload['title'], 'Job failed: Doomed [[error]]');
  });

  it('never puts a secret in a payload or a JWT', () => {
    const secrets = [PASSWORD, JSON.parse(readFileSync(join(server.home, 'vapid.json'), 'utf8')).privateKey as string, auth['authorization']!.slice(7)];
    assert.ok(service.received.length >= 3);
    for (const r of service.received) {
      for (const s of secrets) assert.ok(!r.raw.includes(s) && !JSON.stringify(r.claims).includes(s));
      assert.deepEqual(Object.keys(r.claims).sort(), ['aud', 'exp', 'sub']);
    }
    assert.deepEqual(service.rejected, [], 'every push verified and decrypted');
  });

  it('keeps subscriptions and keys across a restart; DELETE removes one', async () => {
    const home = server.home;
    const key = (await api<{ publicKey: string }>(server.url, 'GET', '/api/push/vapid-public-key', undefined, auth)).body.publicKey;
    await server.stop();
    await start(home);
    assert.equal((await api<{ publicKey: string }>(server.url, 'GET', '/api/push/vapid-public-key', undefined, auth)).body.publicKey, key);
    assert.deepEqual(subscriptionRows(), [phone.endpoint]);
    assert.equal((await api(server.url, 'DELETE', '/api/push/subscriptions', { endpoint: phone.endpoint }, auth)).status, 204);
    assert.equal((await api<Err>(server.url, 'DELETE', '/api/push/subscriptions', { endpoint: phone.endpoint }, auth)).body.error.code, 'SUBSCRIPTION_NOT_FOUND');
    assert.deepEqual(subscriptionRows(), []);
  });
});
