/**
 * A local stand-in for a Web Push service (FCM, Mozilla autopush …) over
 * HTTPS. It checks every push as a real service and a real browser would:
 * the VAPID JWT (ES256 over the `k` public key, audience, expiry, subject),
 * then decrypts the aes128gcm payload with the subscription's private key.
 */
import { createECDH, createPublicKey, randomBytes, verify, type ECDH } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import ece from 'http_ece';
import type { TestCert } from './test-cert.ts';

export interface ReceivedPush {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  claims: { aud: string; exp: number; sub: string };
  vapidKey: string;
  payload: Record<string, unknown>;
  raw: string;
}

export interface TestSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

const b64 = (b: Buffer): string => b.toString('base64url');

export class PushServiceStandIn {
  readonly received: ReceivedPush[] = [];
  readonly rejected: string[] = [];
  private readonly keys = new Map<string, { ecdh: ECDH; auth: Buffer }>();

  private constructor(private readonly server: Server, readonly origin: string) {}

  static async start(cert: TestCert): Promise<PushServiceStandIn> {
    let self!: PushServiceStandIn;
    const server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        try {
          self.verify(path, req.headers, Buffer.concat(chunks));
          res.writeHead(path.startsWith('/gone/') ? 410 : 201).end();
        } catch (e) {
          self.rejected.push(`${path}: ${e instanceof Error ? e.message : String(e)}`);
          res.writeHead(400).end(String(e));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    self = new PushServiceStandIn(server, `https://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** A browser-like subscription whose pushes land here (`gone` ones are answered 410). */
  subscription(opts: { gone?: boolean } = {}): TestSubscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    const path = `/${opts.gone ? 'gone' : 'push'}/${b64(randomBytes(12))}`;
    this.keys.set(path, { ecdh, auth });
    return { endpoint: `${this.origin}${path}`, keys: { p256dh: b64(ecdh.getPublicKey()), auth: b64(auth) } };
  }

  async waitFor(pred: (p: ReceivedPush) => boolean, ms = 30_000, what = 'a push'): Promise<ReceivedPush> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.received.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${this.received.map((r) => r.payload['type']).join(',')}; rejected: ${this.rejected.join('; ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private verify(path: string, headers: ReceivedPush['headers'], body: Buffer): void {
    const sub = this.keys.get(path);
    if (!sub) throw new Error('unknown subscription');
    if (headers['content-encoding'] !== 'aes128gcm') throw new Error(`content-encoding ${String(headers['content-encoding'])}`);
    if (!/^\d+$/.test(String(headers['ttl']))) throw new Error('no TTL');
    const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(String(headers['authorization']));
    if (!m) throw new Error(`no VAPID authorization: ${String(headers['authorization'])}`);
    const [jwt, k] = [m[1]!, m[2]!];
    const [h, p, s] = jwt.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string; typ?: string };
    if (header.alg !== 'ES256' || header.typ !== 'JWT') throw new Error(`JWT header ${JSON.stringify(header)}`);
    const point = Buffer.from(k, 'base64url');
    if (point.length !== 65 || point[0] !== 4) throw new Error('k is not an uncompressed P-256 point');
    const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(point.subarray(1, 33)), y: b64(point.subarray(33)) }, format: 'jwk' });
    if (!verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))) throw new Error('bad JWT signature');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as ReceivedPush['claims'];
    const now = Date.now() / 1000;
    if (claims.aud !== this.origin) throw new Error(`aud ${claims.aud}`);
    if (!(claims.exp > now && claims.exp <= now + 24 * 3600 + 60)) throw new Error(`exp ${claims.exp}`);
    if (!/^(mailto:|https:)/.test(claims.sub)) throw new Error(`sub ${claims.sub}`);
    const raw = ece.decrypt(body, { version: 'aes128gcm', privateKey: sub.ecdh, authSecret: sub.auth }).toString('utf8');
    this.received.push({ path, headers, claims, vapidKey: k, payload: JSON.parse(raw) as Record<string, unknown>, raw });
  }
}
