/**
 * The UI says when the server's storage is in trouble: the database deleted
 * under a running server shows a banner on the open page (no reload), naming
 * the problem, and the page still shows the jobs.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import type { Job } from '../../api/contract.ts';
import { type ConsoleWatch, launchBrowser, newWatchedContext, screenshot, startServerWithUi } from '../helpers/browser.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, type ServerProcess } from '../helpers/server-process.ts';

describe('the storage banner', () => {
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let consoleWatch: ConsoleWatch;
  let repo: string;

  before(async () => {
    repo = makeRepo();
    server = await startServerWithUi({ cwd: repo });
    browser = await launchBrowser();
    ({ context, consoleWatch } = await newWatchedContext(browser, { viewport: { width: 1280, height: 860 } }));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('appears on the open dashboard when the database is deleted, and the jobs stay visible', async () => {
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'hello', agent: 'claude', permissionMode: 'full_auto' });
    const page = await context.newPage();
    await page.goto(server.url);
    await page.locator(`.job-card[data-job-id="${job.id}"]`).waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('storage-banner').count(), 0, 'no banner while all is well');
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

    rmSync(join(server.home, 'codeplane.db'));
    const banner = page.getByTestId('storage-banner');
    await banner.waitFor({ timeout: 30_000 });
    assert.match(await banner.innerText(), /Database deleted\..*deleted while CodePlane was running/s);
    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'shown without a reload');
    assert.equal(await page.locator(`.job-card[data-job-id="${job.id}"]`).count(), 1, 'the jobs are still shown');
    await screenshot(page, 'storage-banner');
    assert.deepEqual(consoleWatch.errors(), []);
  });
});
