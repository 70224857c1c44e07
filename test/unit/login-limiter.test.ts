import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { ClientKeys, TrustedProxyError, addressKey, parseAddress } from '../../api/client-address.ts';
import { HashSlots } from '../../api/hash-slots.ts';
import { LoginLimiter, type Admission } from '../../api/login-limiter.ts';

const req = (headers: Record<string, string>, remoteAddress = '127.0.0.1') => ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;
const refused = (a: Admission) => (a.ok ? undefined : a);

describe('login limiter (pure, on an injected monotonic clock)', () => {
  it('counts an attempt when it is admitted: 24 at once from one client get 5 through', () => {
    const l = new LoginLimiter({}, () => 1000);
    const through = Array.from({ length: 24 }, () => l.admit('a')).filter((a) => a.ok).length;
    assert.equal(through, 5);
    assert.equal(refused(l.admit('a'))?.scope, 'client');
    assert.ok(l.admit('b').ok, 'another client is not held back');
  });

  it('then makes each further attempt wait twice as long (2 s, 4 s, 8 s …, capped), and a right password starts afresh', () => {
    let now = 0;
    const l = new LoginLimiter({ maxDelayMs: 16_000 }, () => now);
    const wrong = () => {
      assert.ok(l.admit('a').ok);
      l.failed('a'); // the verdict, at once
    };
    for (let i = 0; i < 5; i++) wrong();
    const waits: number[] = [];
    for (let k = 0; k < 6; k++) {
      const r = refused(l.admit('a'))!;
      waits.push(r.retryAfterSeconds);
      now += r.retryAfterSeconds * 1000 - 1;
      assert.ok(!l.admit('a').ok, 'not a millisecond early');
      now += 1;
      wrong();
    }
    assert.deepEqual(waits, [2, 4, 8, 16, 16, 16]);
    l.succeed('a');
    for (let i = 0; i < 5; i++) assert.ok(l.admit('a').ok);
  });

  it('admits nothing more from a client past its free attempts while one of them is still being checked', () => {
    let now = 0;
    const l = new LoginLimiter({}, () => now);
    for (let i = 0; i < 5; i++) assert.ok(l.admit('a').ok);
    for (let i = 0; i < 4; i++) l.failed('a');
    now = 3_600_000; // however long the last check takes
    const r = refused(l.admit('a'));
    assert.equal(r?.scope, 'client');
    assert.equal(r?.retryAfterSeconds, 2);
    l.failed('a');
    now += 1999;
    assert.ok(!l.admit('a').ok);
    now += 1;
    assert.ok(l.admit('a').ok);
  });

  it('runs the delay from when a wrong password was known, not from when its hashing began', () => {
    let now = 0;
    const l = new LoginLimiter({}, () => now);
    for (let i = 0; i < 5; i++) l.admit('a');
    for (let i = 0; i < 4; i++) l.failed('a');
    now = 1500; // the fifth hash took 1.5 s
    l.failed('a');
    now = 3000;
    assert.equal(refused(l.admit('a'))?.retryAfterSeconds, 1, '2 s after the verdict, not after the admission');
    now = 3500;
    assert.ok(l.admit('a').ok);
  });

  it('forgets a client a day after its last attempt', () => {
    let now = 0;
    const l = new LoginLimiter({}, () => now);
    for (let i = 0; i < 5; i++) {
      l.admit('a');
      l.failed('a');
    }
    assert.ok(!l.admit('a').ok);
    now += 24 * 3600_000 + 1;
    for (let i = 0; i < 5; i++) assert.ok(l.admit('a').ok);
  });

  it('bounds all clients together per minute, but not a known device', () => {
    let now = 0;
    const l = new LoginLimiter({ globalPerMinute: 10 }, () => now);
    for (let i = 0; i < 10; i++) assert.ok(l.admit(`rotating-${i}`).ok);
    const r = refused(l.admit('fresh'))!;
    assert.equal(r.scope, 'global');
    assert.equal(r.retryAfterSeconds, 60);
    assert.ok(l.admit('device:abc', true).ok, 'the device lane is not held by the global ceiling');
    l.failed('device:abc');
    for (let i = 0; i < 4; i++) {
      l.admit('device:abc', true);
      l.failed('device:abc');
    }
    assert.equal(refused(l.admit('device:abc', true))?.scope, 'client', 'but it has its own per-client delay');
    now = 60_001;
    assert.ok(l.admit('fresh').ok, 'the window slides');
  });

  it('peek counts nothing; a refunded admission (never hashed) does not count', () => {
    const l = new LoginLimiter({ globalPerMinute: 3 }, () => 5);
    for (let i = 0; i < 10; i++) assert.ok(l.peek('a').ok);
    const a = l.admit('a');
    assert.ok(a.ok);
    a.refund();
    a.refund();
    for (let i = 0; i < 3; i++) assert.ok(l.admit(`k${i}`).ok);
    assert.ok(!l.admit('a').ok);
  });

  it('is not fooled by the wall clock: its default clock is monotonic', () => {
    const l = new LoginLimiter();
    for (let i = 0; i < 5; i++) {
      l.admit('a');
      l.failed('a');
    }
    const realNow = Date.now;
    Date.now = () => realNow() + 3600_000; // an hour later on the wall clock only
    try {
      assert.ok(!l.admit('a').ok);
    } finally {
      Date.now = realNow;
    }
  });
});

describe('hash slots', () => {
  it('lets one hash run at a time, devices first, and refuses past the backstop', async () => {
    const slots = new HashSlots(2);
    const order: string[] = [];
    const first = await slots.acquire(false)!;
    const waiters = [
      slots.acquire(false)!.then((r) => (order.push('n1'), r)),
      slots.acquire(false)!.then((r) => (order.push('n2'), r)),
    ];
    assert.equal(slots.acquire(false), undefined, 'the line is full');
    const device = slots.acquire(true)!.then((r) => (order.push('d'), r));
    first();
    (await device)();
    (await waiters[0]!)();
    (await waiters[1]!)();
    assert.deepEqual(order, ['d', 'n1', 'n2']);
    const again = await slots.acquire(false)!;
    again();
    again(); // releasing twice frees one slot only
    const a = await slots.acquire(false)!;
    let bGot = false;
    const b = slots.acquire(false)!.then((r) => ((bGot = true), r));
    await new Promise((r) => setImmediate(r));
    assert.equal(bGot, false, 'still one at a time');
    a();
    (await b)();
  });
});

describe('client keys', () => {
  it('parses addresses and keys IPv6 by /64', () => {
    assert.equal(parseAddress('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(parseAddress(' [2001:db8::1]:443 '), '2001:db8::1');
    assert.equal(parseAddress('198.51.100.7:5678'), '198.51.100.7');
    for (const bad of ['unknown', '', '1.2.3', 'evil.example', '1.2.3.4.5', '::g']) assert.equal(parseAddress(bad), undefined, bad);
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('203.0.113.9'), '203.0.113.9');
  });

  it('ignores X-Forwarded-For from anyone but a trusted proxy', () => {
    const none = new ClientKeys();
    assert.equal(none.keyOf(req({ 'x-forwarded-for': '1.2.3.4' })), '127.0.0.1');
    const k = new ClientKeys(['10.0.0.0/8']);
    assert.equal(k.keyOf(req({ 'x-forwarded-for': '1.2.3.4' }, '192.0.2.1')), '192.0.2.1', 'a peer outside the trusted range');
  });

  it('takes the right-most untrusted hop from a trusted proxy, and the proxy itself for garbage', () => {
    const k = new ClientKeys(['127.0.0.1', '10.0.0.0/8']);
    assert.equal(k.keyOf(req({ 'x-forwarded-for': '9.9.9.9, 1.2.3.4' })), '1.2.3.4');
    assert.equal(k.keyOf(req({ 'x-forwarded-for': 'spoofed, 1.2.3.4, 10.0.0.2' }, '::ffff:127.0.0.1')), '1.2.3.4');
    assert.equal(k.keyOf(req({ 'x-forwarded-for': '1.2.3.4, not-an-ip' })), '127.0.0.1');
    assert.equal(k.keyOf(req({ 'x-forwarded-for': '10.1.1.1' }, '10.2.2.2')), '10.2.2.2', 'every hop trusted: the peer');
    assert.equal(k.keyOf(req({})), '127.0.0.1');
  });

  it('through our own tunnel, keys by what the tunnel saw, only for the tunnel host on a loopback peer', () => {
    const k = new ClientKeys();
    k.tunnel = { host: 'abc.trycloudflare.com', kind: 'cloudflared' };
    const via = (h: Record<string, string>, peer = '127.0.0.1') => k.keyOf(req({ host: 'abc.trycloudflare.com', ...h }, peer));
    assert.equal(via({ 'cf-connecting-ip': '203.0.113.5', 'x-forwarded-for': '6.6.6.6' }), '203.0.113.5');
    assert.equal(via({ 'x-forwarded-for': '6.6.6.6' }), 'tunnel:unknown');
    assert.equal(via({ 'cf-connecting-ip': '203.0.113.5' }, '192.0.2.8'), '192.0.2.8', 'not from loopback: not the tunnel');
    assert.equal(k.keyOf(req({ host: '127.0.0.1:8080', 'cf-connecting-ip': '203.0.113.5' })), '127.0.0.1', 'a local client naming itself');
    k.tunnel = { host: 'x.euw.devtunnels.ms', kind: 'devtunnel' };
    assert.equal(k.keyOf(req({ host: 'x.euw.devtunnels.ms', 'x-forwarded-for': 'forged, 198.51.100.3' })), '198.51.100.3');
  });

  it('refuses a trusted proxy entry that is not an address or a range', () => {
    for (const bad of ['proxy.lan', '10.0.0.0/33', '10.0.0.0/8/1', '::1/129', '']) assert.throws(() => new ClientKeys([bad]), TrustedProxyError, bad);
    assert.doesNotThrow(() => new ClientKeys(['::1', 'fd00::/8', '192.168.1.1']));
  });
});
