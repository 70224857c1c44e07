import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { HostPolicy, hasDotSegment, hostnameOf, originAllowed } from '../../api/host-guard.ts';
import { nulField, tooDeep, unknownField } from '../../api/input-checks.ts';
import { previewTarget, rewriteLocation } from '../../api/preview-target.ts';
import { pushPayloadFor, redact } from '../../supervisor/push/push-payload.ts';

const req = (headers: Record<string, string>, remoteAddress = '127.0.0.1') => ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;

describe('security rules (pure)', () => {
  it('parses Host headers strictly', () => {
    assert.equal(hostnameOf('LocalHost:8080'), 'localhost');
    assert.equal(hostnameOf('[::1]:80'), '[::1]');
    for (const bad of ['a b', 'evil.com@localhost', 'localhost:99999999', '', 'x/y', 'localhost:8080:1']) assert.equal(hostnameOf(bad), undefined, bad);
    const p = new HostPolicy(['devbox.lan']);
    p.allow('abc.trycloudflare.com', { https: true });
    assert.ok(p.isAllowed('devbox.lan:1') && p.isAllowed('127.0.0.1:9') && p.isAllowed('abc.trycloudflare.com'));
    assert.ok(!p.isAllowed('evil.com') && !p.isAllowed(undefined) && !p.isAllowed('127.0.0.2'));
  });

  it('checks Origin against our own origin: scheme, host and port each on its own', () => {
    const local = new HostPolicy();
    const ok = (headers: Record<string, string>, p = local) => originAllowed(req(headers), p);
    assert.ok(ok({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' }));
    assert.ok(ok({ host: '127.0.0.1:8080' }));
    assert.ok(!ok({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:3000' }), 'only the port differs');
    assert.ok(!ok({ host: '127.0.0.1:8080', origin: 'https://127.0.0.1:8080' }), 'only the scheme differs');
    assert.ok(!ok({ host: '127.0.0.1:8080', origin: 'http://localhost:8080' }), 'only the host differs');
    assert.ok(!ok({ host: '127.0.0.1:8080', origin: 'null' }));
    assert.ok(!ok({ host: '127.0.0.1:8080', 'sec-fetch-site': 'cross-site' }));
    // Behind a tunnel the browser is on HTTPS while the request reaches us as plain HTTP.
    const tunnel = new HostPolicy();
    tunnel.allow('abc.trycloudflare.com', { https: true });
    assert.ok(ok({ host: 'abc.trycloudflare.com', origin: 'https://abc.trycloudflare.com' }, tunnel));
    assert.ok(ok({ host: 'abc.trycloudflare.com:443', origin: 'https://abc.trycloudflare.com' }, tunnel), 'a default port written out');
    assert.ok(!ok({ host: 'abc.trycloudflare.com', origin: 'http://abc.trycloudflare.com' }, tunnel), 'only the scheme differs');
    assert.ok(!ok({ host: 'abc.trycloudflare.com', origin: 'https://abc.trycloudflare.com:8443' }, tunnel), 'only the port differs');
    assert.ok(!ok({ host: 'abc.trycloudflare.com', origin: 'https://abd.trycloudflare.com' }, tunnel), 'only the host differs');
  });

  it('finds dot segments, plain, encoded or with backslashes', () => {
    for (const p of ['/a/../b', '/a/%2e%2e/b', '/a/..%2fb', '/a/..\\b', '/.', '/a/%2E']) assert.ok(hasDotSegment(p), p);
    for (const p of ['/a/b.c', '/a/...', '/a/.well-known', '/%E0%A4%A']) assert.ok(!hasDotSegment(p), p);
  });

  it('names unknown fields, NULs and excessive nesting', () => {
    assert.equal(unknownField({ a: 1, b: { c: 1, d: 2 } }, { a: 1, b: { c: 1 } }), 'b.d');
    assert.equal(unknownField({ a: 1, opt: null }, { a: 1 }), undefined);
    const opaque = { x: 1 };
    assert.equal(unknownField({ o: opaque }, { o: opaque }), undefined);
    assert.equal(nulField({ a: ['ok', 'b\u0000'] }), 'a[1]');
    assert.ok(tooDeep(JSON.parse('['.repeat(40) + ']'.repeat(40))));
    assert.ok(!tooDeep({ a: { b: [1, 2, { c: 3 }] } }));
  });

  it('reads preview ports strictly and rewrites only same-origin redirects', () => {
    assert.deepEqual(previewTarget('/api/preview/3000', 8080), { port: 3000, path: '/' });
    assert.deepEqual(previewTarget('/api/preview/3000?x=1', 8080), { port: 3000, path: '/?x=1' });
    assert.deepEqual(previewTarget('/api/preview/65535/a/b?c', 8080), { port: 65535, path: '/a/b?c' });
    assert.equal(previewTarget('/api/jobs', 8080), undefined);
    for (const bad of ['80', '1023', '65536', '08080', '8080@evil.com', '%38%30%38%30', '8080']) assert.throws(() => previewTarget(`/api/preview/${bad}/`, 8080), /port/, bad);
    assert.equal(rewriteLocation('http://localhost:3000/x?y#z', 3000), '/api/preview/3000/x?y#z');
    assert.equal(rewriteLocation('/login', 3000), '/api/preview/3000/login');
    assert.equal(rewriteLocation('http://localhost:3001/x', 3000), 'http://localhost:3001/x');
    assert.equal(rewriteLocation('//evil.example/x', 3000), '//evil.example/x');
  });

  it('masks credentials in push text and builds the approval payload', () => {
    assert.equal(redact('API_KEY=abc123 run'), 'API_KEY=••• run');
    assert.equal(redact('mysql --password=hunter2'), 'mysql --password=•••');
    assert.equal(redact('curl -H "Authorization: Bearer abc.def"'), 'curl -H "Authorization: Bearer •••"');
    assert.equal(redact('gh auth status'), 'gh auth status');
    const p = pushPayloadFor({ id: 1, jobId: 'j1', seq: 3, ts: '', event: { type: 'approval_requested', approval: { id: 'a1', kind: 'shell', summary: 'export TOKEN=s3cret', detail: {}, requestedAt: '', explicit: false } } }, 'Fix it');
    assert.equal(p?.url, '/jobs/j1#approval-a1');
    assert.equal(p?.body, 'shell: export TOKEN=•••');
    assert.equal(pushPayloadFor({ id: 2, jobId: 'j1', seq: 4, ts: '', event: { type: 'log_line', level: 'info', message: 'x' } }, 'Fix it'), undefined);
  });

  it('a containment alarm is pushed with its own tag (the review push of the same turn does not replace it), naming the refs', () => {
    const p = pushPayloadFor({ id: 3, jobId: 'j1', seq: 9, ts: '', event: { type: 'containment_alarm', message: 'm', changes: [
      { ref: 'refs/heads/main', change: 'moved', before: 'a'.repeat(40), after: 'b'.repeat(40), undone: true },
      { ref: 'HEAD', change: 'moved', before: 'ref: refs/heads/main', after: 'ref: refs/heads/evil', undone: false, reason: 'it changed again since the check' },
    ] } }, 'Fix it');
    assert.equal(p?.type, 'containment_alarm');
    assert.equal(p?.url, '/jobs/j1');
    assert.equal(p?.tag, 'alarm-j1-9');
    assert.equal(p?.body, "refs/heads/main, HEAD changed outside the job's branch during its turn; 1 of 2 undone.");
  });
});
