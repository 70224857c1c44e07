/**
 * The raw baseline for replay: a bare node:http server that reads the same
 * database file with better-sqlite3 (pages of 2000 rows by id, like
 * CodePlane's replay) and writes each stored payload as an SSE frame as is,
 * waiting for the socket to drain when it is full.
 *
 *   node --import tsx bench/lib/raw-replay.ts DB_FILE
 * prints {"port":N}; GET /events with Last-Event-ID replays after that id.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import BetterSqlite3 from 'better-sqlite3';

const db = new BetterSqlite3(process.argv[2]!, { readonly: true });
const page = db.prepare('SELECT id, type, payload FROM events WHERE id > ? ORDER BY id LIMIT 2000');

const server = createServer((req, res) => {
  let cursor = Number(req.headers['last-event-id'] ?? 0);
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  const pump = () => {
    for (;;) {
      const rows = page.all(cursor) as { id: number; type: string; payload: string }[];
      if (rows.length === 0) return; // stays open, like a live stream
      let ok = true;
      for (const r of rows) ok = res.write(`id: ${r.id}\nevent: ${r.type}\ndata: ${r.payload}\n\n`);
      cursor = rows.at(-1)!.id;
      if (!ok) return void res.once('drain', pump);
    }
  };
  pump();
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`));
process.on('SIGTERM', () => process.exit(0));
