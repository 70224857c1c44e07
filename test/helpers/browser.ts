import { spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type ConsoleMessage, type Page } from 'playwright-core';
import { ROOT, startServerProcess, type ServerProcess } from './server-process.ts';

export const ARTIFACTS = join(ROOT, 'test/e2e/artifacts');
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const LOCK = join(ROOT, 'dist/.ui-build-lock');
let built = false;

/** Builds the UI once if dist/ui is missing or older than ui/ (a lock keeps parallel test files from building at once). */
export async function ensureUiBuilt(): Promise<void> {
  if (built) return;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock older than three minutes belongs to a crashed run.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 180_000) rmdirSync(LOCK);
      } catch {
        /* gone meanwhile */
      }
      if (Date.now() > deadline) throw new Error('timed out waiting for another UI build');
      await sleep(200);
    }
  }
  try {
    const r = spawnSync(process.execPath, [join(ROOT, 'ui/build-if-stale.js')], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`UI build failed:\n${r.stdout}\n${r.stderr}`);
    built = true;
  } finally {
    rmdirSync(LOCK);
  }
}

/** `extraArgs`: more Chromium switches (e.g. `--host-resolver-rules` to reach the server under another name). */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', ...extraArgs],
  });
}

/** The new-job form asks for agents the fake environment does not have: their 404s are expected. */
export const AGENTS_404 = /status of 404 .* @ https?:\/\/[^ ]+\/api\/agents(\/[^/ ]+\/models)?$/;

/** The real server (with its repo registered) and a built UI, started side by side. */
export async function startServerWithUi(opts: { cwd: string; home?: string }): Promise<ServerProcess> {
  const [server] = await Promise.all([startServerProcess(opts), ensureUiBuilt()]);
  return server;
}

/** A browser context watched for console errors, with a timeout for a busy machine (it slows the server, not the assertions). */
export async function newWatchedContext(browser: Browser, options: BrowserContextOptions): Promise<{ context: BrowserContext; consoleWatch: ConsoleWatch }> {
  const context = await browser.newContext(options);
  const consoleWatch = watchConsole(context);
  context.setDefaultTimeout(60_000);
  return { context, consoleWatch };
}

export interface ConsoleWatch {
  /** Console errors and uncaught page errors not matched by an allowed pattern. */
  errors(): string[];
  /** Ignore errors matching `re` (e.g. refused connections while the test kills the server on purpose). */
  allow(re: RegExp): void;
}

/** Records console errors and uncaught exceptions of every page in the context. */
export function watchConsole(context: BrowserContext): ConsoleWatch {
  const seen: string[] = [];
  const allowed: RegExp[] = [];
  const onPage = (page: Page) => {
    page.on('console', (m: ConsoleMessage) => {
      if (m.type() === 'error') seen.push(`${m.text()} @ ${m.location().url}`);
    });
    page.on('pageerror', (e) => seen.push(`pageerror: ${e.message}`));
  };
  context.pages().forEach(onPage);
  context.on('page', onPage);
  return {
    errors: () => seen.filter((s) => !allowed.some((re) => re.test(s))),
    allow: (re) => allowed.push(re),
  };
}

export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

/** How far the document overflows the viewport horizontally (0 when it does not). */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const el = document.scrollingElement ?? document.documentElement;
    return Math.max(el.scrollWidth, document.body.scrollWidth) - el.clientWidth;
  });
}

/** Visible interactive elements smaller than `min` px in either dimension. */
export function smallTapTargets(page: Page, min = 44): Promise<string[]> {
  return page.evaluate((m) => {
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('button, a[href], input, select, textarea, [role="button"]')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'none') continue;
      if (el instanceof HTMLInputElement && (el.type === 'radio' || el.type === 'checkbox') && el.closest('label')) continue; // the label is the target
      if (r.height < m - 0.5 || r.width < m - 0.5) out.push(`${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''} "${(el.textContent ?? '').trim().slice(0, 30)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
    return out;
  }, min);
}
