/**
 * The "other browsers" of a benchmark, in their own process so they do not
 * delay the measuring client: COUNT raw TCP connections that GET an SSE URL
 * and discard what arrives. Each socket is read in bursts (paused once it has
 * drained the kernel buffer, resumed every 20 ms), which costs a few reads per
 * client per 20 ms instead of one callback per event, as a remote browser
 * costs the server nothing but the writes.
 *
 *   node --import tsx bench/lib/drain-clients.ts URL COUNT [LAST_EVENT_ID]
 * prints {"connected":COUNT} once every stream has answered 200.
 */
import { connect, type Socket } from 'node:net';

const [urlArg, countArg, lastArg] = process.argv.slice(2);
const url = new URL(urlArg!);
const count = Number(countArg ?? 1);
const sockets: Socket[] = [];
let connected = 0;

for (let i = 0; i < count; i++) {
  const s = connect(Number(url.port), url.hostname);
  sockets.push(s);
  let headerSeen = false;
  s.on('connect', () =>
    s.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n${lastArg ? `Last-Event-ID: ${lastArg}\r\n` : ''}\r\n`),
  );
  s.on('data', (b: Buffer) => {
    if (!headerSeen) {
      headerSeen = true;
      if (!b.subarray(0, 16).toString('latin1').startsWith('HTTP/1.1 200')) {
        process.stderr.write(`drain client: ${b.subarray(0, 200).toString('latin1')}\n`);
        process.exit(1);
      }
      if (++connected === count) process.stdout.write(`${JSON.stringify({ connected })}\n`);
    }
    if (b.length < 65536) s.pause();
  });
  s.on('error', (e) => {
    process.stderr.write(`drain client: ${e.message}\n`);
    process.exit(1);
  });
}

setInterval(() => {
  for (const s of sockets) if (s.isPaused()) s.resume();
}, 20);
process.on('SIGTERM', () => process.exit(0));
