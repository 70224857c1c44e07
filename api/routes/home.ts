import Router from '@koa/router';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>CodePlane</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>CodePlane is up</h1>
<p>The server is running. The API lives under <code>/api</code>: see <a href="/api/health">/api/health</a>,
<a href="/api/jobs">/api/jobs</a> and the live event stream at <a href="/api/events">/api/events</a>.</p>
</body></html>`;

/** A plain page saying the server is up (the full UI replaces it). */
export function homePage(): Router {
  const r = new Router();
  r.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = PAGE;
  });
  return r;
}
