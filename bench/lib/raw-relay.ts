/**
 * The raw baseline for event latency, run as its own process: emitters send
 * JSON lines over a Unix socket (one raw IPC message), the relay decodes each
 * and writes it as one SSE chunk to every connected HTTP client (one raw HTTP
 * chunk write). No storage, no framework: the floor CodePlane is measured against.
 *
 *   node --import tsx bench/lib/raw-relay.ts SOCKET_PATH
 * prints {"port":N} once listening. POST /go?streams=S&n=N&rate=R starts S emitter streams.
 */
import { rmSync } from 'node:fs';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type Socket } from 'node:net';

const socketPath = process.argv[2]!;
const emitters: Socket[] = [];
const clients: ServerResponse[] = [];
let nextId = 0;

rmSync(socketPath, { force: true });
const ipc = createServer((socket) => {
  emitters.push(socket);
  socket.setEncoding('utf8');
  let buf = '';
  socket.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const msg = JSON.parse(line) as { type: string };
      const frame = `id: ${++nextId}\nevent: ${msg.type}\ndata: ${line}\n\n`;
      for (const c of clients) c.write(frame);
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => emitters.splice(emitters.indexOf(socket), 1));
});

const http = createHttpServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/events') {
    req.socket.setNoDelay(true);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    clients.push(res);
    req.once('close', () => clients.splice(clients.indexOf(res), 1));
    return;
  }
  if (url.pathname === '/go') {
    const streams = Number(url.searchParams.get('streams') ?? 1);
    const n = Number(url.searchParams.get('n') ?? 100);
    const rate = Number(url.searchParams.get('rate') ?? 100);
    for (const e of emitters.slice(0, streams)) e.write(`go ${n} ${rate}\n`);
    res.end(JSON.stringify({ started: Math.min(streams, emitters.length) }));
    return;
  }
  if (url.pathname === '/status') {
    res.end(JSON.stringify({ emitters: emitters.length, clients: clients.length, sent: nextId }));
    return;
  }
  res.statusCode = 404;
  res.end();
});

ipc.listen(socketPath, () => {
  http.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port })}\n`));
});
process.on('SIGTERM', () => process.exit(0));
