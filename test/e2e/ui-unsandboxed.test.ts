/**
 * An unsandboxed job says so on its page: with config `"sandbox": "off"` the job header shows a
 * "no sandbox" badge (and the transcript its system note); with the sandbox on, neither.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import type { Job } from '../../api/contract.ts';
import { launchBrowser, newWatchedContext, screenshot, startServerWithUi } from '../helpers/browser.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, type ServerProcess } from '../helpers/server-process.ts';

describe('the unsandboxed badge', () => {
  const servers: ServerProcess[] = [];
  let browser: Browser;
  let context: BrowserContext;
  let repo: string;

  before(async () => {
    repo = makeRepo();
    browser = await launchBrowser();
    ({ context } = await newWatchedContext(browser, { viewport: { width: 1280, height: 860 } }));
  });
  after(async () => {
    await browser?.close();
    for (const s of servers) await s.stop();
  });

  async function jobPage(sandbox: 'on' | 'off') {
    const home = mkdtempSync(join(tmpdir(), 'cpl-ui-sbx-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ sandbox }));
    const server = await startServerWithUi({ cwd: repo, home });
    servers.push(server);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'hello', agent: 'claude', permissionMode: 'full_auto' });
    const page = await context.newPage();
    await page.goto(`${server.url}/jobs/${job.id}`);
    await page.locator('.job-h1').waitFor();
    return page;
  }

  it('sandbox off: the job page shows the badge and the transcript note', async () => {
    const page = await jobPage('off');
    const badge = page.getByTestId('unsandboxed');
    await badge.waitFor();
    assert.equal((await badge.innerText()).trim(), 'no sandbox');
    assert.match((await badge.getAttribute('title')) ?? '', /"sandbox": "off"/);
    await page.getByText(/runs WITHOUT the operating-system sandbox/).first().waitFor({ timeout: 60_000 });
    await screenshot(page, 'unsandboxed-badge');
  });

  it('sandbox on: no badge', async () => {
    const page = await jobPage('on');
    await page.getByText('echo: hello').first().waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('unsandboxed').count(), 0);
    assert.equal(await page.getByText(/runs WITHOUT the operating-system sandbox/).count(), 0);
  });
});
