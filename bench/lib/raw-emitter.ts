/**
 * The raw baseline's agent side: opens STREAMS connections to the relay's Unix
 * socket and, on `go N RATE`, writes N stamped JSON lines at RATE per second on
 * that connection, paced against a schedule exactly like the fake CLI's [[burst]].
 *
 *   node --import tsx bench/lib/raw-emitter.ts SOCKET_PATH STREAMS
 */
import { connect, type Socket } from 'node:net';

const [socketPath, streamsArg] = process.argv.slice(2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function burst(socket: Socket, job: string, n: number, rate: number): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < n && !socket.destroyed; i++) {
    const text = `<t=${(performance.timeOrigin + performance.now()).toFixed(3)} i=${i}> `;
    socket.write(`${JSON.stringify({ type: 'transcript_update', jobId: job, entry: { role: 'agent_delta', text } })}\n`);
    const wait = t0 + ((i + 1) * 1000) / rate - performance.now();
    if (wait > 1) await sleep(wait);
  }
}

for (let s = 0; s < Number(streamsArg ?? 1); s++) {
  const socket = connect(socketPath!);
  socket.setEncoding('utf8');
  let buf = '';
  socket.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const [cmd, n, rate] = buf.slice(0, nl).split(' ');
      buf = buf.slice(nl + 1);
      if (cmd === 'go') void burst(socket, `raw${s}`, Number(n), Number(rate));
    }
  });
  socket.on('close', () => process.exit(0));
  socket.on('error', () => process.exit(0));
}
