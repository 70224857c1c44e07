/**
 * The PWA: a manifest with icons, a service worker that precaches the shell,
 * and an app that opens offline from that cache and comes back live by itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { type ConsoleWatch, launchBrowser, newWatchedContext, startServerWithUi } from '../helpers/browser.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { type ServerProcess } from '../helpers/server-process.ts';

interface Manifest {
  name: string;
  display: string;
  start_url: string;
  icons: { src: string; sizes: string; purpose?: string }[];
}

describe('the app as a PWA', () => {
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let consoleWatch: ConsoleWatch;

  before(async () => {
    server = await startServerWithUi({ cwd: makeRepo() });
    browser = await launchBrowser();
    ({ context, consoleWatch } = await newWatchedContext(browser, { viewport: { width: 1024, height: 768 } }));
    page = await context.newPage();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('links a manifest with installable icons', async () => {
    await page.goto(server.url);
    const href = await page.locator('link[rel="manifest"]').getAttribute('href');
    const manifest = (await (await fetch(new URL(href!, server.url))).json()) as Manifest;
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.start_url, '/');
    const sizes = manifest.icons.map((i) => i.sizes);
    assert.ok(sizes.includes('192x192') && sizes.includes('512x512'), sizes.join(','));
    assert.ok(manifest.icons.some((i) => i.purpose === 'maskable'));
  });

  it('opens offline from the service worker cache and reconnects when the network is back', async () => {
    // A function, not a string: Playwright re-evals a string predicate on every
    // poll, which the app's CSP (no 'unsafe-eval') refuses once the first poll is false.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 60_000 });
    await page.locator('[data-connection="live"]').waitFor();
    consoleWatch.allow(/net::ERR_|Failed to fetch|status of 50\d/);
    await context.setOffline(true);
    await page.reload();
    await page.locator('.topbar .brand').waitFor();
    await page.locator('[data-connection="reconnecting"], [data-connection="connecting"]').first().waitFor();
    await context.setOffline(false);
    await page.locator('[data-connection="live"]').waitFor({ timeout: 60_000 });
    await page.locator('.empty h2', { hasText: 'No jobs yet' }).waitFor({ timeout: 60_000 });
    assert.deepEqual(consoleWatch.errors(), []);
  });
});
