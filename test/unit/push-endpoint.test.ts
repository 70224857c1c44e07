import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { describe, it } from 'node:test';
import { PushHostsError, allowedPushHosts, canonicalHostPort, p256KeyProblem, pushEndpointProblem } from '../../supervisor/push/push-endpoint.ts';

describe('push endpoints and keys (pure)', () => {
  const none = new Set<string>();

  it('accepts the browsers own push services on 443 only', () => {
    for (const ok of ['https://fcm.googleapis.com/fcm/send/x', 'https://FCM.googleapis.com:443/x', 'https://updates.push.services.mozilla.com/wpush/v2/x', 'https://autopush.push.services.mozilla.com/x', 'https://web.push.apple.com/x', 'https://a.b.push.apple.com/x', 'https://db5p.notify.windows.com/w/?token=x'])
      assert.equal(pushEndpointProblem(ok, none), undefined, ok);
    for (const bad of ['https://fcm.googleapis.com:444/x', 'http://fcm.googleapis.com/x', 'https://u:p@fcm.googleapis.com/x', 'https://push.apple.com/x', 'https://notify.windows.com/x', 'https://x_y.push.apple.com/x', 'https://-a.push.apple.com/x', 'https://fcm.googleapis.com./x', 'https://xn--fcm-googleapis-com/x', 'not a url', 'https://fcm.googleapis.com.evil.example/x'])
      assert.notEqual(pushEndpointProblem(bad, none), undefined, bad);
  });

  it('names why an address is refused, however it is spelt', () => {
    const cases: [string, RegExp][] = [
      ['https://127.0.0.1/x', /loopback/],
      ['https://2130706433/x', /loopback/],
      ['https://0x7f.0.0.1/x', /loopback/],
      ['https://[::1]/x', /loopback/],
      ['https://0.0.0.0/x', /loopback/],
      ['https://169.254.169.254/x', /link-local/],
      ['https://[fe80::1]/x', /link-local/],
      ['https://10.1.2.3/x', /private/],
      ['https://172.31.0.1/x', /private/],
      ['https://192.168.0.1/x', /private/],
      ['https://[fd12::1]/x', /private/],
      ['https://1.1.1.1/x', /literal IP/],
    ];
    for (const [url, why] of cases) assert.match(pushEndpointProblem(url, none) ?? '', why, url);
  });

  it('lets listed host:port entries through, exactly', () => {
    const allowed = allowedPushHosts(['Push.Example.LAN:8443'], ' 127.0.0.1:9443 , [::1]:7000,');
    assert.deepEqual([...allowed].sort(), ['127.0.0.1:9443', '[::1]:7000', 'push.example.lan:8443']);
    assert.equal(pushEndpointProblem('https://push.example.lan:8443/x', allowed), undefined);
    assert.equal(pushEndpointProblem('https://127.0.0.1:9443/x', allowed), undefined);
    assert.equal(pushEndpointProblem('https://[::1]:7000/x', allowed), undefined);
    assert.notEqual(pushEndpointProblem('https://push.example.lan/x', allowed), undefined);
    assert.notEqual(pushEndpointProblem('https://127.0.0.1:9444/x', allowed), undefined);
    assert.equal(canonicalHostPort('push.example:443'), 'push.example:443');
    for (const bad of ['push.example', 'push.example:0', 'push.example:70000', 'a b:1', 'user@host:1', 'https://x:1', '::1:80']) assert.throws(() => canonicalHostPort(bad), PushHostsError, bad);
  });

  it('accepts only P-256 keys that are points on the curve', () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const key = ecdh.getPublicKey();
    assert.equal(p256KeyProblem(key.toString('base64url')), undefined);
    const flipped = Buffer.from(key);
    flipped[64] = flipped[64]! ^ 1;
    const p = Buffer.from('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff', 'hex');
    for (const bad of [flipped, Buffer.concat([Buffer.from([4]), Buffer.alloc(64)]), Buffer.concat([Buffer.from([4]), p, key.subarray(33)])]) assert.match(p256KeyProblem(bad.toString('base64url')) ?? '', /not a point/);
    assert.match(p256KeyProblem(ecdh.getPublicKey(null, 'compressed').toString('base64url')) ?? '', /uncompressed/);
    assert.match(p256KeyProblem('not base64!') ?? '', /uncompressed/);
  });
});
