/**
 * The job terminal in a real Chromium: xterm.js loaded on demand, typing into
 * a real shell in the job's worktree, the scrollback replayed after a reload,
 * the shell following the browser's size, a phone-sized layout with its key
 * bar, and the terminal closing when the job is resolved.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Job } from '../../api/contract.ts';
import { AGENTS_404, type ConsoleWatch, horizontalOverflow, launchBrowser, newWatchedContext, screenshot, smallTapTargets, startServerWithUi } from '../helpers/browser.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, type ServerProcess } from '../helpers/server-process.ts';

/** Endpoints this server may not have yet; the UI falls back, Chromium still logs the 404. */

/** The text of xterm's rendered rows (the DOM renderer: one div per row). */
const rows = (page: Page): Promise<string[]> => page.locator('.terminal-host .xterm-rows > div').allTextContents().then((r) => r.map((s) => s.replace(/\u00a0/g, ' ').trimEnd()));

async function waitForRow(page: Page, test: (row: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await rows(page)).find(test);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no row for ${what}; rows: ${JSON.stringify((await rows(page)).filter(Boolean))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function reachReview(base: string, repo: string): Promise<Job> {
  const created = await api<Job>(base, 'POST', '/api/jobs', { repo, prompt: 'hello', agent: 'claude', permissionMode: 'full_auto' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (let i = 0; i < 600; i++) {
    const job = (await api<Job>(base, 'GET', `/api/jobs/${created.body.id}`)).body;
    if (job.state === 'review') return job;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the job never reached review');
}

describe('the job terminal in the browser', { timeout: 300_000 }, () => {
  let repo: string;
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let consoleWatch: ConsoleWatch;
  let job: Job;

  before(async () => {
    repo = makeRepo();
    server = await startServerWithUi({ cwd: repo });
    browser = await launchBrowser();
    ({ context, consoleWatch } = await newWatchedContext(browser, { viewport: { width: 1280, height: 860 }, colorScheme: 'light' }));
    consoleWatch.allow(AGENTS_404);
    page = await context.newPage();
    job = await reachReview(server.url, repo);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('loads xterm only when the Terminal tab opens, and runs what is typed in the worktree', async () => {
    const scripts: string[] = [];
    page.on('request', (r) => {
      if (r.resourceType() === 'script') scripts.push(new URL(r.url()).pathname);
    });
    await page.goto(`${server.url}/jobs/${job.id}`);
    await page.locator('.job-page[data-state="review"]').waitFor();
    assert.ok(!scripts.some((s) => s.includes('xterm')), `xterm is not in the first load: ${scripts.join(', ')}`);

    await page.locator('a.tab', { hasText: 'Terminal' }).click();
    await page.waitForURL(/\/terminal$/);
    await page.locator('.terminal[data-terminal-status="open"]').waitFor();
    assert.ok(scripts.some((s) => s.includes('xterm')), 'xterm was loaded on demand');
    await page.locator('.terminal-host').click();
    await page.keyboard.type('echo hi-from-term');
    await page.keyboard.press('Enter');
    await waitForRow(page, (r) => r.trim() === 'hi-from-term', 'the output of echo');
    assert.ok((await rows(page)).some((r) => r.includes('$ echo hi-from-term') || r.endsWith('# echo hi-from-term')), 'the typed command is echoed at the prompt');

    await page.keyboard.type('pwd');
    await page.keyboard.press('Enter');
    await waitForRow(page, (r) => r.trim() === job.worktreePath, 'pwd');
    await screenshot(page, 'job-terminal');
  });

  it('replays the scrollback after a reload, in the same shell', async () => {
    await page.keyboard.type('echo "pid=$$"');
    await page.keyboard.press('Enter');
    const pidRow = await waitForRow(page, (r) => /^pid=\d+$/.test(r.trim()), 'the pid');
    await page.reload();
    await page.locator('.terminal[data-terminal-status="open"]').waitFor();
    await waitForRow(page, (r) => r.trim() === 'hi-from-term', 'the replayed output');
    await page.locator('.terminal-host').click();
    await page.keyboard.type('echo "again-pid=$$"');
    await page.keyboard.press('Enter');
    await waitForRow(page, (r) => r.trim() === `again-${pidRow.trim()}`, 'the same shell after the reload');
  });

  it('resizes the shell with the window', async () => {
    const size = async (): Promise<[number, number]> => {
      const tag = `size${Math.random().toString(36).slice(2, 8)}`;
      await page.keyboard.type(`echo "${tag}=$(stty size)"`);
      await page.keyboard.press('Enter');
      const row = await waitForRow(page, (r) => r.trim().startsWith(`${tag}=`) && /=\d+ \d+$/.test(r.trim()), 'stty size');
      const [r, c] = row.trim().slice(tag.length + 1).split(' ').map(Number);
      return [r!, c!];
    };
    const [rows1, cols1] = await size();
    const dims = await page.evaluate(() => {
      const screen = document.querySelector('.terminal-host .xterm-screen')!.getBoundingClientRect();
      return { width: screen.width, height: screen.height };
    });
    assert.ok(cols1 > 80 && rows1 > 10, `a 1280×860 window gives a large terminal (${rows1}×${cols1}, ${JSON.stringify(dims)})`);
    await page.setViewportSize({ width: 900, height: 700 });
    await page.waitForTimeout(300);
    const [rows2, cols2] = await size();
    assert.ok(cols2 < cols1 && rows2 < rows1, `smaller after the window shrank: ${rows1}×${cols1} → ${rows2}×${cols2}`);
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('fits a phone screen, with a key bar for the keys a phone keyboard lacks', async () => {
    const { context: phone, consoleWatch: phoneConsole } = await newWatchedContext(browser, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    phoneConsole.allow(AGENTS_404);
    try {
      const p = await phone.newPage();
      await p.goto(`${server.url}/jobs/${job.id}/terminal`);
      await p.locator('.terminal[data-terminal-status="open"]').waitFor();
      await waitForRow(p, (r) => r.trim() === 'hi-from-term', 'the replayed output on the phone');
      assert.equal(await horizontalOverflow(p), 0, 'no horizontal scrolling');
      // xterm's helper textarea is an invisible input that follows the cursor; the tap target is the whole terminal.
      const small = (await smallTapTargets(p)).filter((t) => !t.startsWith('textarea.xterm-helper-textarea'));
      assert.deepEqual(small, [], 'every tap target is at least 44 px');
      const host = await p.locator('.terminal-host').boundingBox();
      assert.ok(host && host.width <= 390 && host.height >= 150, JSON.stringify(host));
      // A command left running, interrupted with the key bar's Ctrl-C.
      await p.locator('.terminal-host').tap();
      await p.keyboard.type('sleep 300; echo not-interrupted');
      await p.keyboard.press('Enter');
      await p.waitForTimeout(300);
      await p.locator('.terminal-keys button[aria-label="Interrupt (Ctrl+C)"]').tap();
      await p.keyboard.type('echo "after-""ctrl-c"');
      await p.keyboard.press('Enter');
      await waitForRow(p, (r) => r.trim() === 'after-ctrl-c', 'a prompt again after Ctrl-C', 15_000);
      await screenshot(p, 'job-terminal-phone');
      assert.deepEqual(phoneConsole.errors(), []);
    } finally {
      await phone.close();
    }
  });

  it('says when the shell exits and starts a new one on request', async () => {
    await page.locator('.terminal-host').click();
    await page.keyboard.type('exit');
    await page.keyboard.press('Enter');
    await page.locator('.terminal[data-terminal-status="ended"] .terminal-status', { hasText: 'The shell exited with code 0.' }).waitFor();
    await page.locator('.terminal-status button', { hasText: 'Start a new shell' }).click();
    await page.locator('.terminal[data-terminal-status="open"]').waitFor();
    await page.locator('.terminal-host').click();
    await page.keyboard.type('echo "fresh-""shell"');
    await page.keyboard.press('Enter');
    await waitForRow(page, (r) => r.trim() === 'fresh-shell', 'output of the new shell');
    assert.ok(!(await rows(page)).some((r) => r.trim() === 'hi-from-term'), 'a new shell starts with a clean screen');
  });

  it('closes when the job is resolved and says why', async () => {
    const res = await api(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'discard' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await page.locator('.terminal-unavailable', { hasText: 'This job was discarded; its terminal closed with it.' }).waitFor();
    assert.equal(await page.locator('.terminal-host').count(), 0);
    assert.deepEqual(consoleWatch.errors(), []);
  });
});
