/**
 * A bare node:http server answering every GET with the same bytes (read once
 * from FILE): the raw baseline for an API read of the same size.
 *
 *   node --import tsx bench/lib/raw-static.ts FILE [CONTENT_TYPE]
 * prints {"port":N} once listening.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const [file, type = 'application/json; charset=utf-8'] = process.argv.slice(2);
const body = readFileSync(file!);
const server = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`));
process.on('SIGTERM', () => process.exit(0));
