/**
 * The server dies (SIGKILL) in the middle of a job and comes back on the same
 * port and home: the open pages reconnect on their own, resume from the last
 * event id and show what happened meanwhile, without a reload.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Job, TranscriptEntry } from '../../api/contract.ts';
import { type ConsoleWatch, launchBrowser, newWatchedContext, screenshot, startServerWithUi } from '../helpers/browser.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

/** Polls until `check` returns true (or throws its last failure). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(200);
  }
}

describe('pages survive a server restart', () => {
  let repo: string;
  let first: ServerProcess;
  let second: ServerProcess | undefined;
  let browser: Browser;
  let context: BrowserContext;
  let consoleWatch: ConsoleWatch;

  before(async () => {
    repo = makeRepo();
    first = await startServerWithUi({ cwd: repo });
    browser = await launchBrowser();
    ({ context, consoleWatch } = await newWatchedContext(browser, { viewport: { width: 1280, height: 860 } }));
  });
  after(async () => {
    await browser?.close();
    // Workers outlive a killed server: if the test stopped before restarting it, a server adopts them and stops them.
    if (!second && first?.child.signalCode === 'SIGKILL') second = await startServerProcess({ cwd: repo, home: first.home }).catch(() => undefined);
    await second?.stop();
    if (first.child.exitCode === null && first.child.signalCode === null) await first.stop();
  });

  it('shows the events it missed after the server is killed and restarted, without a reload', async () => {
    const { body: job } = await api<Job>(first.url, 'POST', '/api/jobs', { repo, prompt: 'A long task [[slow 400]]', agent: 'claude', permissionMode: 'full_auto' });
    const jobPage: Page = await context.newPage();
    const dashboard: Page = await context.newPage();
    await jobPage.goto(`${first.url}/jobs/${job.id}`);
    await dashboard.goto(first.url);
    await jobPage.locator('.msg.streaming', { hasText: 'tick 3' }).waitFor({ timeout: 60_000 });
    await dashboard.locator(`.job-card[data-job-id="${job.id}"][data-state="running"]`).waitFor();
    for (const p of [jobPage, dashboard]) await p.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

    // While the server is down the browser logs its failed reconnects: expected here.
    consoleWatch.allow(/net::ERR_|status of 50\d/);
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    await jobPage.locator('[data-connection="reconnecting"]').waitFor({ timeout: 10_000 });
    await dashboard.locator('[data-connection="reconnecting"]').waitFor({ timeout: 10_000 });
    await screenshot(jobPage, 'reconnecting');

    second = await startServerProcess({ cwd: repo, home: first.home, args: ['--port', new URL(first.url).port] });
    assert.equal(second.url, first.url, 'same address');
    await jobPage.locator('[data-connection="live"]').waitFor({ timeout: 60_000 });
    await dashboard.locator('[data-connection="live"]').waitFor({ timeout: 60_000 });

    // Whatever the restarted server did with the job (it may fail or resume it), both pages converge on it.
    let serverState = '';
    await until('the pages show the state the server has', async () => {
      serverState = (await api<Job>(second!.url, 'GET', `/api/jobs/${job.id}`)).body.state;
      const onPage = await jobPage.locator('.job-page').getAttribute('data-state');
      const onDash = await dashboard.locator(`.job-card[data-job-id="${job.id}"]`).getAttribute('data-state');
      return onPage === serverState && onDash === serverState && serverState !== 'running';
    }, 60_000);

    // The transcript on the page ends with what the server stored last (nothing missed, nothing doubled).
    const latest = (await api<TranscriptEntry[]>(second.url, 'GET', `/api/jobs/${job.id}/transcript?limit=1`)).body[0];
    if (latest?.role === 'agent') await jobPage.locator('.msg.agent', { hasText: latest.text!.slice(-20) }).waitFor();
    if (serverState === 'failed') await jobPage.locator('.sys-note.error').first().waitFor();
    const seqs = await jobPage.locator('.msg[data-seq]').evaluateAll((els) => els.map((e) => e.getAttribute('data-seq')));
    assert.equal(new Set(seqs).size, seqs.length, `no entry shown twice: ${seqs.join(',')}`);
    for (const p of [jobPage, dashboard]) assert.equal(await p.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'no reload');
    await jobPage.bringToFront();
    await until('the transcript follows the newest entry', () =>
      jobPage.locator('.vlist').evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 48));
    await screenshot(jobPage, 'after-restart');
    assert.deepEqual(consoleWatch.errors(), []);
  });
});
