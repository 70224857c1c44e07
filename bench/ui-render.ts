/**
 * 7. UI: opening a job with 20,000 transcript entries in Chromium, from
 * navigation to first contentful paint, to the newest entry on screen, and
 * to interactive (the main thread free: the end of the last long task after
 * the newest entry is shown, with a 1 s quiet window).
 *
 * Baseline: the same latest page of the transcript (what the job snapshot
 * returns) as a static HTML page from a bare node:http server, no script.
 * Each load is a fresh browser context (cold cache); rounds alternate.
 * Runs only if dist/ui/index.html exists and Chromium is installed.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { JobSnapshot, TranscriptEntry } from '../api/contract.ts';
import { firstJsonLine, spawnHelper, stopChild } from './lib/children.ts';
import { benchDir } from './lib/home.ts';
import { UI_ENTRIES, UI_JOB, UI_MARKER, getHistory } from './lib/history.ts';
import { row, skipRow, type BenchContext, type BenchOutcome } from './lib/report.ts';
import { OUT_DIR, ROOT } from './lib/root.ts';
import { api } from './lib/server.ts';
import { median } from './lib/stats.ts';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

interface Timing {
  fcp: number;
  content: number;
  interactive: number;
}

export async function uiRender(ctx: BenchContext): Promise<BenchOutcome> {
  const index = join(ROOT, 'dist/ui/index.html');
  if (!existsSync(index)) return { rows: [skipRow('7 UI', 'render', `skipped: ${index} does not exist (run npm run build)`)], details: {} };
  if (!existsSync(CHROMIUM)) return { rows: [skipRow('7 UI', 'render', `skipped: ${CHROMIUM} is not installed`)], details: {} };

  const h = await getHistory(ctx);
  const { body: snap } = await api<JobSnapshot>(h.server.url, 'GET', `/api/jobs/${UI_JOB}/snapshot`);
  const dir = benchDir('ui');
  const htmlFile = join(dir, 'baseline.html');
  writeFileSync(htmlFile, staticPage(snap.transcript));
  const raw = spawnHelper('raw-static.ts', [htmlFile, 'text/html; charset=utf-8']);
  const { port } = await firstJsonLine<{ port: number }>(raw);
  const { chromium } = await import('playwright-core');
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    const b = browser;
    const load = async (url: string): Promise<Timing> => {
      const context = await b.newContext({ viewport: { width: 1280, height: 860 }, serviceWorkers: 'block' });
      try {
        const page = await context.newPage();
        await page.addInitScript({ content: OBSERVER.replace('MARKER', JSON.stringify(UI_MARKER)) });
        await page.goto(url, { waitUntil: 'commit', timeout: 60_000 });
        try {
          return await Promise.race([
            page.evaluate(() => (window as unknown as { __bench: Promise<Timing> }).__bench),
            new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${url} did not show the newest entry within 60 s`)), 60_000)),
          ]);
        } catch (e) {
          const shot = join(OUT_DIR, 'ui-render-failure.png');
          await page.screenshot({ path: shot }).catch(() => undefined);
          throw new Error(`${e instanceof Error ? e.message : String(e)} (screenshot: ${shot})`);
        }
      } finally {
        await context.close();
      }
    };
    const jobUrl = `${h.server.url}/jobs/${UI_JOB}`;
    const rawUrl = `http://127.0.0.1:${port}/`;
    await load(rawUrl); // warm-up: browser process, fonts
    await load(jobUrl);
    const rounds = ctx.quick ? 2 : 3;
    const got: Record<'raw' | 'codeplane', Timing[]> = { raw: [], codeplane: [] };
    for (let r = 0; r < rounds; r++) {
      got.raw.push(await load(rawUrl));
      got.codeplane.push(await load(jobUrl));
    }
    const m = (k: 'raw' | 'codeplane', f: keyof Timing) => median(got[k].map((t) => t[f]));
    ctx.log(`ui: interactive ${m('codeplane', 'interactive').toFixed(0)} ms (raw ${m('raw', 'interactive').toFixed(0)} ms)`);
    const entries = `${UI_ENTRIES.toLocaleString('en-US')} entries`;
    return {
      rows: [
        row({ bench: '7 UI', name: `first contentful paint, ${entries}`, measured: m('codeplane', 'fcp'), baseline: m('raw', 'fcp'), unit: 'ms', goal: 'info (no goal set)', status: 'INFO' }),
        row({ bench: '7 UI', name: 'newest entry on screen', measured: m('codeplane', 'content'), baseline: m('raw', 'content'), unit: 'ms', goal: 'info (no goal set)', status: 'INFO' }),
        row({ bench: '7 UI', name: 'interactive', measured: m('codeplane', 'interactive'), baseline: m('raw', 'interactive'), unit: 'ms', goal: 'info (no goal set)', status: 'INFO', note: `baseline: the snapshot's ${snap.transcript.length} latest entries as static HTML from a bare server` }),
      ],
      details: { rounds: got },
    };
  } finally {
    await browser?.close();
    await stopChild(raw);
  }
}

/**
 * Runs in the page before any of its scripts: records when the marker text
 * appears (the frame after it entered the DOM), then resolves window.__bench
 * once no long task has run for 1 s. A string, not a function: tsx compiles
 * functions with name-keeping helpers that do not exist in the page.
 */
const OBSERVER = `(() => {
  const marker = MARKER;
  let content = 0;
  let lastLongTaskEnd = 0;
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) lastLongTaskEnd = Math.max(lastLongTaskEnd, e.startTime + e.duration);
    }).observe({ type: 'longtask', buffered: true });
  } catch {}
  window.__bench = new Promise((resolve) => {
    const mo = new MutationObserver(() => {
      if (content || !document.body || !document.body.textContent.includes(marker)) return;
      mo.disconnect();
      requestAnimationFrame(() => {
        content = performance.now();
        const settle = () => {
          if (performance.now() - Math.max(content, lastLongTaskEnd) >= 1000) {
            const p = performance.getEntriesByName('first-contentful-paint')[0];
            resolve({ fcp: p ? p.startTime : NaN, content, interactive: Math.max(content, lastLongTaskEnd) });
          } else setTimeout(settle, 100);
        };
        settle();
      });
    });
    mo.observe(document, { childList: true, subtree: true, characterData: true });
  });
})();`;

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function staticPage(entries: readonly TranscriptEntry[]): string {
  const rows = entries.map((e) => {
    const body = e.text ?? e.toolOutput ?? JSON.stringify(e.toolInput ?? '');
    return `<div class="msg ${e.role}"><div class="role">${esc(e.role)}${e.toolName ? ` · ${esc(e.toolName)}` : ''}</div><pre>${esc(body)}</pre></div>`;
  });
  return `<!doctype html><html><head><meta charset="utf-8"><title>job</title><style>body{font:14px system-ui;margin:0 auto;max-width:900px}.msg{border-bottom:1px solid #ddd;padding:8px}.role{font-weight:600}pre{white-space:pre-wrap;margin:4px 0}</style></head><body>${rows.join('\n')}</body></html>`;
}
