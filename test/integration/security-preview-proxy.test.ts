import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { makeRepo } from '../helpers/git-repo.ts';
import { parseSetCookie, rawRequest } from '../helpers/http-raw.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const PASSWORD = 'preview password';
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC11B85';

/** The app being previewed: echoes what it receives, streams, redirects, tries to set CodePlane's cookie, and speaks WebSocket. */
function previewedApp(): Promise<{ server: Server; port: number; release: () => void }> {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const server = createServer((req, res) => {
    const port = (server.address() as AddressInfo).port;
    const url = req.url ?? '/';
    if (url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      void gate.then(() => res.end('second\n'));
    } else if (url === '/redirect-same') res.writeHead(302, { location: `http://127.0.0.1:${port}/target?x=1#h` }).end();
    else if (url === '/redirect-relative') res.writeHead(301, { location: '/login' }).end();
    else if (url === '/redirect-away') res.writeHead(302, { location: 'https://example.com/phish' }).end();
    else if (url === '/redirect-protocol-relative') res.writeHead(302, { location: '//evil.example/x' }).end();
    else if (url === '/cookies') res.writeHead(200, [['Set-Cookie', 'cpl_session=planted; Path=/'], ['Set-Cookie', 'app=1; Path=/']].flat()).end('ok');
    else {
      let size = 0;
      req.on('data', (c: Buffer) => (size += c.length));
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, url, headers: req.headers, size })));
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}${WS_GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Seen-Cookie: ${String(req.headers.cookie ?? '')}\r\nX-Seen-Auth: ${String(req.headers.authorization ?? '')}\r\n\r\n`);
    socket.pipe(socket); // echo every byte
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, release })));
}

/** A WebSocket handshake through `base`; resolves with the 101 response and the socket, or the refusal. */
function upgrade(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingMessage['headers']; socket?: Duplex; body?: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), ...headers } });
    req.on('upgrade', (res, socket) => resolve({ status: res.statusCode ?? 0, headers: res.headers, socket }));
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the preview proxy', () => {
  let server: ServerProcess;
  let app: Awaited<ReturnType<typeof previewedApp>>;
  let cookie: string;
  const get = (path: string, headers: Record<string, string> = {}) => rawRequest(server.url, { path, headers: { cookie, ...headers } });

  before(async () => {
    app = await previewedApp();
    server = await startServerProcess({ cwd: makeRepo(), env: { CPL_PASSWORD: PASSWORD } });
    const login = await rawRequest(server.url, { method: 'POST', path: '/api/auth/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) });
    cookie = parseSetCookie(login.headers['set-cookie'])!.pair;
  });
  after(async () => {
    app?.release();
    await server?.stop();
    app?.server.close();
  });

  it('needs the same authentication as the API', async () => {
    const res = await rawRequest(server.url, { path: `/api/preview/${app.port}/echo` });
    assert.equal(res.status, 401);
    assert.equal(res.json().error.code, 'UNAUTHENTICATED');
  });

  it("forwards method, path and query to 127.0.0.1:<port>, without CodePlane's cookie or Authorization", async () => {
    const res = await get(`/api/preview/${app.port}/echo/a%20b?q=1&r=2`, { cookie: `theme=dark; ${cookie}; app=1`, authorization: 'Bearer secret-token' });
    assert.equal(res.status, 200, res.text);
    const seen = JSON.parse(res.text) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/echo/a%20b?q=1&r=2');
    assert.equal(seen.headers['cookie'], 'theme=dark; app=1');
    assert.equal(seen.headers['authorization'], undefined);
    assert.equal(seen.headers['host'], `localhost:${app.port}`);
    assert.match(String(res.headers['content-security-policy']), /^sandbox allow-scripts/, 'the app runs in an opaque origin');
  });

  it('streams request and response bodies', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const up = await rawRequest(server.url, { method: 'POST', path: `/api/preview/${app.port}/upload`, headers: { cookie, origin: server.url, 'content-type': 'application/octet-stream' }, body });
    assert.equal(JSON.parse(up.text).size, body.length, 'no body size limit of the API applies');
    const url = new URL(server.url);
    const first = await new Promise<string>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: `/api/preview/${app.port}/stream`, headers: { cookie } }, (res) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (c: string) => {
          text += c;
          if (text === 'first\n') {
            resolve(text); // arrived while the app still holds the rest back
            app.release();
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(first, 'first\n');
  });

  it('passes redirects through without following them, rewriting Location only when it points at the app itself', async () => {
    const cases: [string, number, string][] = [
      ['redirect-same', 302, `/api/preview/${app.port}/target?x=1#h`],
      ['redirect-relative', 301, `/api/preview/${app.port}/login`],
      ['redirect-away', 302, 'https://example.com/phish'],
      ['redirect-protocol-relative', 302, '//evil.example/x'],
    ];
    for (const [path, status, location] of cases) {
      const res = await get(`/api/preview/${app.port}/${path}`);
      assert.equal(res.status, status, path);
      assert.equal(res.headers['location'], location, path);
    }
  });

  it("never lets the app set CodePlane's session cookie", async () => {
    const res = await get(`/api/preview/${app.port}/cookies`);
    assert.deepEqual(res.headers['set-cookie'], ['app=1; Path=/']);
  });

  it('refuses malformed and forbidden ports with 400 PORT_NOT_ALLOWED', async () => {
    const own = new URL(server.url).port;
    for (const port of ['80', '0', '1023', '65536', '99999', '8080@evil.com', '%38%30%38%30', '0080', '+8080', '-1', '8080.0', '0x1f90', own, '', 'localhost:8080', '8080%2Fx', encodeURIComponent('３０００')]) {
      const res = await get(`/api/preview/${port}/x`);
      assert.equal(res.status, 400, `port "${port}": ${res.text}`);
      assert.equal(res.json().error.code, 'PORT_NOT_ALLOWED', port);
    }
  });

  it('answers 503 PREVIEW_UNREACHABLE when nothing listens on the port', async () => {
    const probe = createServer();
    const port = await new Promise<number>((r) => probe.listen(0, '127.0.0.1', () => r((probe.address() as AddressInfo).port)));
    await new Promise<void>((r) => probe.close(() => r()));
    const res = await get(`/api/preview/${port}/`);
    assert.equal(res.status, 503);
    assert.equal(res.json().error.code, 'PREVIEW_UNREACHABLE');
  });

  it('proxies WebSocket upgrades both ways, with the same checks', async () => {
    const ok = await upgrade(server.url, `/api/preview/${app.port}/ws`, { cookie: `${cookie}; app=1`, origin: server.url });
    assert.equal(ok.status, 101);
    assert.equal(ok.headers['x-seen-cookie'], 'app=1', "CodePlane's cookie stays behind");
    assert.equal(ok.headers['x-seen-auth'], '');
    const echoed = await new Promise<string>((resolve) => {
      ok.socket!.once('data', (c: Buffer) => resolve(c.toString()));
      ok.socket!.write('ping through the proxy');
    });
    assert.equal(echoed, 'ping through the proxy');
    ok.socket!.destroy();

    const refusals: [Record<string, string>, string, number, string][] = [
      [{}, `/api/preview/${app.port}/ws`, 401, 'UNAUTHENTICATED'],
      [{ cookie, origin: 'http://evil.example' }, `/api/preview/${app.port}/ws`, 403, 'ORIGIN_NOT_ALLOWED'],
      [{ cookie, host: 'evil.example' }, `/api/preview/${app.port}/ws`, 403, 'HOST_NOT_ALLOWED'],
      [{ cookie }, '/api/preview/80/ws', 400, 'PORT_NOT_ALLOWED'],
      [{ cookie }, '/api/events', 404, 'NOT_FOUND'],
    ];
    for (const [headers, path, status, code] of refusals) {
      const res = await upgrade(server.url, path, headers);
      assert.equal(res.status, status, `${path} ${JSON.stringify(headers)}`);
      assert.equal((JSON.parse(res.body!) as { error: { code: string } }).error.code, code);
    }
  });
});
