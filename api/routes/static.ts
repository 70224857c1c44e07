import { createReadStream, statSync, type Stats } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import type { Context, Middleware } from 'koa';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>CodePlane</title></head>
<body><h1>CodePlane is up</h1>
<p>The API is under <code>/api</code> (<a href="/api/health">/api/health</a>). The browser UI is not built:
run <code>npm run build</code> (or <code>npm start</code>, which builds it) and reload.</p>
</body></html>`;

/** A file under `root` for a URL path, or undefined (never escapes root). */
function resolveFile(root: string, urlPath: string): { path: string; stat: Stats } | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const path = normalize(join(root, decoded));
  if (path !== root && !path.startsWith(root + sep)) return undefined;
  try {
    const stat = statSync(path);
    return stat.isFile() ? { path, stat } : undefined;
  } catch {
    return undefined;
  }
}

function send(ctx: Context, file: { path: string; stat: Stats }, cacheControl: string): void {
  ctx.status = 200;
  ctx.set('Cache-Control', cacheControl);
  ctx.lastModified = file.stat.mtime;
  ctx.etag = `W/"${file.stat.size.toString(16)}-${Math.floor(file.stat.mtimeMs).toString(16)}"`;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  if (ctx.method === 'GET') ctx.body = createReadStream(file.path);
  ctx.type = TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream';
  ctx.length = file.stat.size;
}

/**
 * Serves the built UI: hashed assets cached forever, index.html and the
 * service worker revalidated every time, and index.html for every other page
 * path (the UI routes with the History API). /api stays the API's.
 */
export function staticRoutes(opts: { root: string }): Middleware {
  const root = normalize(opts.root);
  // A plain middleware, not a router: a router's catch-all GET would be "matched" for every path,
  // and the API routers' allowedMethods would then answer 405 to a POST to a route that does not
  // exist. Unknown routes are 404 NOT_FOUND for every method.
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    const p = ctx.path;
    if (p === '/api' || p.startsWith('/api/')) return next(); // unknown API routes stay JSON 404s
    const index = resolveFile(root, '/index.html');
    if (!index) {
      ctx.type = 'html';
      ctx.set('Cache-Control', REVALIDATE);
      ctx.body = NOT_BUILT;
      return;
    }
    const file = p === '/' ? undefined : resolveFile(root, p);
    if (file) return send(ctx, file, p.startsWith('/assets/') ? IMMUTABLE : REVALIDATE);
    // A missing file with an extension is a 404, not the app (a stale asset must not get HTML).
    if (extname(p) !== '') return next();
    send(ctx, index, REVALIDATE);
  };
}
