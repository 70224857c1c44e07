/**
 * The containment alarm on the job page, in a real Chromium against the real
 * server and the fake Claude: an agent (sandbox off) tags the repository and
 * deletes another branch, each approved on the page; the page shows the alarm
 * live, and a page opened afterwards shows it from the snapshot.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import type { Job } from '../../api/contract.ts';
import { AGENTS_404, type ConsoleWatch, launchBrowser, newWatchedContext, startServerWithUi } from '../helpers/browser.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { api, type ServerProcess } from '../helpers/server-process.ts';

describe('the job page shows the containment alarm', () => {
  let repo: string;
  let home: string;
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let consoleWatch: ConsoleWatch;

  before(async () => {
    repo = makeRepo('cpl-alarm-ui-');
    git(repo, 'branch', 'other');
    home = mkdtempSync(join(tmpdir(), 'cpl-alarm-ui-home-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ sandbox: 'off', workerNice: 0 }));
    server = await startServerWithUi({ cwd: repo, home });
    browser = await launchBrowser();
    ({ context, consoleWatch } = await newWatchedContext(browser, { viewport: { width: 1100, height: 800 } }));
    consoleWatch.allow(AGENTS_404);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    for (const d of [repo, home]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('live while the page is open, and again from the snapshot after a reload', { timeout: 300_000 }, async () => {
    // review_and_approve: the page is open, showing the first ask, before any command has run; the user approves on the page.
    const prompt = '[[bash git tag evil-tag]] [[bash git branch -D other]]';
    const created = await api<Job>(server.url, 'POST', '/api/jobs', { repo, agent: 'claude', prompt, permissionMode: 'review_and_approve' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const job = created.body;
    const page = await context.newPage();
    await page.goto(`${server.url}/jobs/${job.id}`);
    await page.locator('.job-page').waitFor();
    const alarm = page.locator('[data-testid="containment-alarm"]');
    await page.locator('button', { hasText: /^Approve/ }).first().waitFor();
    assert.equal(await alarm.isVisible(), false, 'nothing has run yet');
    const deadline = Date.now() + 240_000;
    // The first alarm comes while the second command waits for its approval (the tag is already undone); the second at the end.
    const both = async (): Promise<boolean> => (await alarm.isVisible()) && /evil-tag created[\s\S]*other deleted/.test(await alarm.innerText());
    while (!(await both())) {
      if (Date.now() > deadline) {
        const j = (await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body;
        const t = (await api<unknown[]>(server.url, 'GET', `/api/jobs/${job.id}/transcript`)).body;
        assert.fail(`the alarms never appeared; job ${j.state}; transcript ${JSON.stringify(t).slice(0, 1500)}`);
      }
      const approve = page.locator('button', { hasText: /^Approve/ }).first();
      if (await approve.isVisible().catch(() => false)) await approve.click().catch(() => undefined);
      await page.waitForTimeout(250);
    }
    const text = await alarm.innerText();
    assert.match(text, /2 alarms/);
    assert.match(text, /undone/);
    assert.ok(git(repo, 'rev-parse', 'other'), 'the deleted branch is back');

    await page.reload();
    await page.locator('.job-page').waitFor();
    assert.match(await page.locator('[data-testid="containment-alarm"]').innerText(), /evil-tag created[\s\S]*other deleted/, 'after a reload, from the snapshot');
    assert.deepEqual(consoleWatch.errors(), []);
  });
});
