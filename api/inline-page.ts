import { createHash } from 'node:crypto';
import type { Context } from 'koa';

const hash = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/**
 * A small self-contained HTML page (the login form, the share view): its one
 * inline script and style are allowed by hash, everything else stays as
 * strict as the app's CSP (no other script, no framing, same-origin fetches).
 */
export function inlinePage(title: string, style: string, body: string, script: string) {
  const csp = [
    "default-src 'none'",
    `script-src ${hash(script)}`,
    `style-src ${hash(style)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${title}</title><style>${style}</style></head>
<body>${body}<script>${script}</script></body></html>`;
  return (ctx: Context, status = 200): void => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Content-Security-Policy', csp);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = html;
  };
}
