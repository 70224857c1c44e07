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
    // The local stand-in is no known push service: it must be listed (the way a self-hosted one is).
    server = await startServerProcess({ cwd: repo, ...(home ? { home } : {}), env: { NODE_EXTRA_CA_CERTS: cert.caFile, CPL_PASSWORD: PASSWORD, CPL_PUSH_ALLOWED_HOSTS: `push.example.lan:8443, ${new URL(service.origin).host}` } });
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

  it('refuses endpoints that are not a known push service (loopback, link-local, private, other ports, look-alikes) and keys off the curve', async () => {
    const sub = service.subscription();
    const endpoint = (url: string) => ({ ...sub, endpoint: url });
    const port = new URL(service.origin).port;
    const refused = [
      `https://127.0.0.1:${Number(port) + 1}/x`, // the stand-in's address on another port: not listed
      `https://localhost:${port}/x`, // listed as 127.0.0.1, not by name
      'https://127.0.0.1/x',
      'https://2130706433/x', // 127.0.0.1 spelt as a number
      'https://0x7f.1/x',
      'https://[::1]/x',
      'https://[::ffff:127.0.0.1]/x',
      'https://169.254.169.254/latest/meta-data',
      'https://[fe80::1]/x',
      'https://10.0.0.1/x',
      'https://192.168.1.20/x',
      'https://172.16.5.4/x',
      'https://[fd00::1]/x',
      'https://8.8.8.8/x',
      'https://fcm.googleapis.com:8443/fcm/send/x',
      'https://fcm.googleapis.com./fcm/send/x',
      'https://fcm.googleapis.com.evil.example/x',
      'https://evilfcm.googleapis.com/x',
      'https://push.apple.com.evil.example/x',
      'https://evilpush.apple.com/x',
      'https://push.example.lan/x', // listed with port 8443 only
      'https://push.example/x',
    ];
    for (const url of refused) {
      const res = await api<Err & { error: { message: string } }>(server.url, 'POST', '/api/push/subscriptions', endpoint(url), auth);
      assert.equal(res.status, 400, url);
      assert.equal(res.body.error.code, 'INVALID_SUBSCRIPTION', url);
      assert.equal(res.body.error.field, 'endpoint', url);
    }
    const link = await api<{ error: { message: string } }>(server.url, 'POST', '/api/push/subscriptions', endpoint('https://169.254.169.254/x'), auth);
    assert.match(link.body.error.message, /link-local/);
    // Off the curve: a valid-looking 65-byte key with one bit of y flipped; the all-zero point; x = p (out of the field).
    const raw = Buffer.from(sub.keys.p256dh, 'base64url');
    const flipped = Buffer.from(raw);
    flipped[64] = flipped[64]! ^ 1;
    const p = Buffer.from('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff', 'hex');
    for (const bad of [flipped, Buffer.concat([Buffer.from([4]), Buffer.alloc(64)]), Buffer.concat([Buffer.from([4]), p, raw.subarray(33)])]) {
      const res = await api<Err>(server.url, 'POST', '/api/push/subscriptions', { ...sub, keys: { ...sub.keys, p256dh: bad.toString('base64url') } }, auth);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'INVALID_SUBSCRIPTION');
      assert.equal(res.body.error.field, 'keys.p256dh');
    }
    assert.ok(!subscriptionRows().includes(sub.endpoint));
    // The browsers' own push services are accepted without any listing (removed again: no push may leave this machine).
    for (const url of ['https://fcm.googleapis.com/fcm/send/abc', 'https://updates.push.services.mozilla.com/wpush/v2/abc', 'https://web.push.apple.com/QAbc', 'https://wns2-par02p.notify.windows.com/w/?token=abc', 'https://push.example.lan:8443/x']) {
      assert.equal((await api(server.url, 'POST', '/api/push/subscriptions', endpoint(url), auth)).status, 201, url);
      assert.equal((await api(server.url, 'DELETE', '/api/push/subscriptions', { endpoint: url }, auth)).status, 204);
    }
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
