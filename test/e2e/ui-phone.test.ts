/**
 * The UI on a phone (390×844): no horizontal scrolling, tap targets of at
 * least 44 px, and an approval answered with one tap from the dashboard.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Job } from '../../api/contract.ts';
import { AGENTS_404, type ConsoleWatch, horizontalOverflow, launchBrowser, newWatchedContext, screenshot, smallTapTargets, startServerWithUi } from '../helpers/browser.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, type ServerProcess } from '../helpers/server-process.ts';


describe('the UI on a phone', () => {
  let repo: string;
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let consoleWatch: ConsoleWatch;
  let job: Job;

  const fits = async (what: string) => {
    assert.equal(await horizontalOverflow(page), 0, `${what}: no horizontal scrolling`);
    assert.deepEqual(await smallTapTargets(page), [], `${what}: every tap target is at least 44 px`);
  };

  before(async () => {
    repo = makeRepo();
    server = await startServerWithUi({ cwd: repo });
    browser = await launchBrowser();
    ({ context, consoleWatch } = await newWatchedContext(browser, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }));
    consoleWatch.allow(AGENTS_404);
    page = await context.newPage();
    await api(server.url, 'POST', '/api/jobs', { repo, prompt: 'Explain the layout of this repository', agent: 'claude', permissionMode: 'full_auto' });
    job = (await api<Job>(server.url, 'POST', '/api/jobs', {
      repo,
      prompt: 'Add a changelog with the first release notes [[write CHANGELOG.md # Changelog\n\n## 0.1.0\n- First release with a rather long line that must wrap or scroll inside its own box, never the page]]',
      agent: 'claude',
    })).body;
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('answers an approval with one tap on the dashboard', async () => {
    await page.goto(server.url);
    const card = page.locator(`.job-card[data-job-id="${job.id}"] .approval`);
    await card.waitFor({ timeout: 60_000 });
    await page.locator('[data-group="review"] .job-card').waitFor({ timeout: 60_000 });
    await fits('dashboard');
    await screenshot(page, 'phone-dashboard');
    await card.locator('[data-action="approve"]').tap();
    await page.locator(`.job-card[data-job-id="${job.id}"][data-state="review"]`).waitFor({ timeout: 60_000 });
  });

  it('fits the job page, its diff and the new-job form', async () => {
    await page.locator(`.job-card[data-job-id="${job.id}"] .job-link`).tap();
    await page.locator('.job-page[data-state="review"]').waitFor();
    await page.locator('.approval.resolved').waitFor();
    await fits('job page');
    await screenshot(page, 'phone-job');

    await page.locator('a.tab', { hasText: 'Changes' }).tap();
    await page.locator('.diff-file[data-path="CHANGELOG.md"] tr.add').first().waitFor();
    await fits('diff');
    await screenshot(page, 'phone-diff');

    await page.locator('a.new-job').tap();
    await page.locator('#prompt').waitFor();
    await fits('new job');
    await screenshot(page, 'phone-new-job');
    assert.deepEqual(consoleWatch.errors(), []);
  });
});
