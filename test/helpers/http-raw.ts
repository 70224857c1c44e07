import { request } from 'node:http';
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = { error: { code: string; message: string; field?: string } }>(): T;
}

/**
 * A request over node:http with full control of the headers (fetch refuses to
 * set Host, and normalises paths): for Host, Origin and path attacks.
 */
export function rawRequest(base: string, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const headers = { ...(opts.body !== undefined && !Object.keys(opts.headers ?? {}).some((h) => /^(content-length|transfer-encoding)$/i.test(h)) ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers };
    const req = request({ host: url.hostname, port: url.port, method: opts.method ?? 'GET', path: opts.path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Bytes straight onto a socket (malformed HTTP); resolves with everything the server sent before closing. */
export function rawSocket(base: string, bytes: string | Buffer, timeoutMs = 5000): Promise<string> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const s = connect(Number(url.port), url.hostname, () => s.write(bytes));
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (c: string) => (out += c));
    const done = () => resolve(out);
    s.on('close', done);
    s.on('error', done);
    setTimeout(() => s.destroy(), timeoutMs).unref();
  });
}

/** The `name=value` of a Set-Cookie header, and its attributes lower-cased. */
export function parseSetCookie(h: string | string[] | undefined): { pair: string; attrs: string[] } | undefined {
  const first = Array.isArray(h) ? h[0] : h;
  if (!first) return undefined;
  const [pair, ...attrs] = first.split(';').map((s) => s.trim());
  return { pair: pair!, attrs: attrs.map((a) => a.toLowerCase()) };
}
