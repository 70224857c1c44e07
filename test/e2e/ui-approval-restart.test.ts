/**
 * In a real Chromium: an approval held across a graceful stop (cpl down, cpl up) is shown on the
 * job page as waiting on an agent whose turn was interrupted; approving it on its card lets the
 * resumed agent run the command, and the job reaches review.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { cplDown, jobWaitingForApproval, servers, start } from '../helpers/approval-restart.ts';
import { AGENTS_404, ensureUiBuilt, launchBrowser, newWatchedContext, screenshot } from '../helpers/browser.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api } from '../helpers/server-process.ts';
import type { Job } from '../../api/contract.ts';

let browser: Browser | undefined;
after(async () => {
  await browser?.close();
  for (const s of servers) await s.stop();
});

it('the job page shows the held approval as waiting on an interrupted turn; approving it on the card runs the command', { timeout: 300_000 }, async () => {
  const repo = makeRepo();
  const [first] = await Promise.all([start(repo), ensureUiBuilt()]);
  const { job } = await jobWaitingForApproval(first, repo, 'claude', 'ui-approved.txt');
  await cplDown(first);
  const second = await start(repo, first.home);

  browser = await launchBrowser();
  const { context, consoleWatch } = await newWatchedContext(browser, { viewport: { width: 1280, height: 860 } });
  consoleWatch.allow(AGENTS_404);
  const page = await context.newPage();
  await page.goto(`${second.url}/jobs/${job.id}`);
  const card = page.locator('.approval:not(.resolved)');
  await card.waitFor({ timeout: 60_000 });
  assert.match(await card.innerText(), /touch ui-approved\.txt/);
  const hint = card.locator('.approval-interrupted');
  await hint.waitFor({ timeout: 60_000 });
  assert.match(await hint.innerText(), /the agent's turn was interrupted, and it resumes with your answer/);
  await screenshot(page, 'approval-interrupted');

  await card.locator('[data-action="approve"]').click();
  await page.locator('.approval.resolved.approved').waitFor();
  for (const deadline = Date.now() + 90_000; ; ) {
    const state = (await api<Job>(second.url, 'GET', `/api/jobs/${job.id}`)).body.state;
    if (state === 'review' || state === 'failed') {
      assert.equal(state, 'review');
      break;
    }
    assert.ok(Date.now() < deadline, `the job to settle (it is ${state})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(existsSync(join(job.worktreePath, 'ui-approved.txt')), 'the approved command ran');
  assert.deepEqual(consoleWatch.errors(), []);
});
