#!/usr/bin/env node
// Builds the UI (vite → dist/ui) when it is missing or older than its sources.
// `npm start` runs it first (prestart); with an up-to-date build it only stats files (a few ms).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const ui = join(root, 'ui');
const stamp = join(root, 'dist/ui/index.html');

function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

export function uiIsStale() {
  if (!existsSync(stamp)) return true;
  const sources = Math.max(newest(join(ui, 'src')), newest(join(ui, 'public')), statSync(join(ui, 'index.html')).mtimeMs, statSync(join(ui, 'vite.config.ts')).mtimeMs);
  return sources > statSync(stamp).mtimeMs;
}

export function buildUi() {
  const vite = join(root, 'node_modules/vite/bin/vite.js');
  if (!existsSync(vite)) {
    console.error('codeplane: the UI is not built and vite is not installed (run `npm install`); the API still works.');
    return false;
  }
  const r = spawnSync(process.execPath, [vite, 'build', '--config', join(ui, 'vite.config.ts'), '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  return r.status === 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (uiIsStale()) {
    console.log('codeplane: building the UI…');
    if (!buildUi()) process.exitCode = existsSync(stamp) ? 0 : 1;
  }
}
