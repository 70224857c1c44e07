/**
 * A job with 20,000 transcript entries opens fast, renders only what is on
 * screen, scrolls smoothly, and pages older entries in from the transcript
 * endpoint (newest first) without moving what the user is looking at.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { SequencedEvent, TranscriptEntry } from '../../machines/domain-events.ts';
import { openDatabase } from '../../supervisor/db/database.ts';
import { insertJob } from '../../supervisor/db/jobs-repo.ts';
import { listRepos } from '../../supervisor/db/repos-repo.ts';
import { EventHub } from '../../supervisor/events/event-hub.ts';
import { EventLog } from '../../supervisor/events/event-log.ts';
import { type ConsoleWatch, launchBrowser, newWatchedContext, screenshot, startServerWithUi } from '../helpers/browser.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const ENTRIES = 20_000;
const JOB = 'jbigtranscript01';
/** The same kind of job with a short transcript: the baseline the big one is measured against. */
const SMALL = 'jsmalltranscript1';
const SMALL_ENTRIES = 20;
const LOREM = 'The agent looked at the module, read its tests and decided what to change next. ';

/** Entry n (1-based) of the synthetic transcript, carried by seq n + 3. */
function entry(n: number): TranscriptEntry {
  const seq = n + 3;
  if (n % 10 === 0) return { seq, role: 'tool_call', toolName: 'Bash', toolInput: { command: `npm test -- --grep case-${n}` }, toolCallId: `t${n}` };
  if (n % 10 === 1 && n > 1) return { seq, role: 'tool_result', toolOutput: `case-${n - 1} passed`, toolSuccess: true, toolCallId: `t${n - 1}`, durationMs: 120 };
  if (n % 10 === 5) return { seq, role: 'reasoning', text: `Thinking about step ${n}` };
  return { seq, role: 'agent', text: `Entry #${n}: ${LOREM.repeat(1 + (n % 4))}`.trim() };
}

function seedJobs(home: string): void {
  const db = openDatabase(join(home, 'codeplane.db'));
  try {
    const repo = listRepos(db)[0]!;
    seedJob(db, repo.id, home, JOB, ENTRIES);
    seedJob(db, repo.id, home, SMALL, SMALL_ENTRIES);
  } finally {
    db.close();
  }
}

function seedJob(db: ReturnType<typeof openDatabase>, repoId: string, home: string, id: string, count: number): void {
  {
    const ts = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString();
    insertJob(db, { id, repoId, title: 'A very long session', prompt: 'Work through the whole test suite', agent: 'claude', model: 'claude-sonnet-4-5', permissionMode: 'full_auto', baseRef: 'main', branch: `codeplane/${id}`, worktreePath: join(home, 'worktrees', id), createdAt: ts(0) });
    const log = new EventLog(db, new EventHub());
    const events: SequencedEvent[] = [
      { seq: 1, ts: ts(1), event: { type: 'job_created', title: 'A very long session', agent: 'claude', repoId } },
      { seq: 2, ts: ts(2), event: { type: 'job_state_changed', from: 'queued', to: 'preparing' } },
      { seq: 3, ts: ts(3), event: { type: 'job_state_changed', from: 'preparing', to: 'running' } },
    ];
    for (let n = 1; n <= count; n++) events.push({ seq: n + 3, ts: ts(n + 3), event: { type: 'transcript_update', entry: entry(n) } });
    const end = count + 4;
    events.push({ seq: end, ts: ts(end), event: { type: 'job_state_changed', from: 'running', to: 'review' } });
    events.push({ seq: end + 1, ts: ts(end + 1), event: { type: 'job_resolved', resolution: 'discarded' } });
    events.push({ seq: end + 2, ts: ts(end + 2), event: { type: 'job_state_changed', from: 'review', to: 'completed' } });
    for (let i = 0; i < events.length; i += 2000) log.append(id, events.slice(i, i + 2000));
  }
}

describe('a job with 20,000 transcript entries', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let consoleWatch: ConsoleWatch;
  const pageRequests: string[] = [];

  before(async () => {
    const repo = makeRepo();
    const home = mkdtempSync(join(tmpdir(), 'cpl-home-'));
    const first = await startServerWithUi({ cwd: repo, home });
    await first.stop(); // migrated database, repository registered
    seedJobs(home);
    server = await startServerProcess({ cwd: repo, home });
    browser = await launchBrowser();
    const { context, consoleWatch: watch } = await newWatchedContext(browser, { viewport: { width: 1280, height: 860 } });
    consoleWatch = watch;
    page = await context.newPage();
    page.on('request', (r) => {
      if (r.url().includes('/transcript?')) pageRequests.push(r.url());
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('opens fast with only the visible rows in the DOM', async (t) => {
    /** Opens a job page until its newest entry shows; ms. */
    const open = async (id: string, count: number) => {
      const started = Date.now();
      await page.goto(`${server.url}/jobs/${id}`);
      await page.locator('.msg.agent', { hasText: `Entry #${count - 1}:` }).waitFor();
      return Date.now() - started;
    };
    await open(SMALL, SMALL_ENTRIES); // warms the server and the browser cache
    const small = await open(SMALL, SMALL_ENTRIES);
    const big = await open(JOB, ENTRIES);
    t.diagnostic(`opened in ${big} ms (a ${SMALL_ENTRIES}-entry job: ${small} ms)`);
    // Measured against the small job in the same run, so a busy machine slows both alike.
    assert.ok(big < Math.max(2000, small * 3), `20,000 entries: ${big} ms, ${SMALL_ENTRIES} entries: ${small} ms`);
    const rows = await page.locator('.vrow').count();
    assert.ok(rows > 5 && rows < 150, `${rows} rows rendered`);
    assert.equal(pageRequests.length, 0, 'the snapshot alone renders the newest entries');
    await screenshot(page, 'scale-job');
  });

  it('scrolls smoothly', async (t) => {
    await page.locator('.vlist').hover();
    // Frame gaps while idle (the machine's baseline), then while scrolling. A string, so the test
    // runner's transpiler adds no helpers the page lacks.
    const record = `(() => {
      window.__frames = [];
      window.__stop = false;
      const tick = (ts) => { window.__frames.push(ts); if (!window.__stop) requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
    })()`;
    const stop = async () => {
      const frames = (await page.evaluate('(window.__stop = true, window.__frames)')) as number[];
      const gaps = frames.slice(1).map((f, i) => f - frames[i]!).sort((a, b) => a - b);
      return { p95: gaps[Math.floor(gaps.length * 0.95)] ?? 0, worst: gaps.at(-1) ?? 0, n: gaps.length };
    };
    await page.evaluate(record);
    await page.waitForTimeout(1500);
    const idle = await stop();
    await page.evaluate(record);
    for (let i = 0; i < 80; i++) {
      await page.mouse.wheel(0, -350);
      await page.waitForTimeout(16);
    }
    const scrolling = await stop();
    t.diagnostic(`idle: p95 ${idle.p95.toFixed(1)} ms; scrolling: ${scrolling.n} frames, p95 ${scrolling.p95.toFixed(1)} ms, worst ${scrolling.worst.toFixed(1)} ms`);
    assert.ok(scrolling.p95 < Math.max(100, idle.p95 * 4), `p95 frame ${scrolling.p95} ms while scrolling, ${idle.p95} ms idle`);
    assert.ok((await page.locator('.vrow').count()) < 150, 'still only the visible rows');
  });

  it('pages older entries in without moving the rows on screen, back to the very first', async (t) => {
    const vlist = page.locator('.vlist');
    // One page, watched closely: the first row on screen stays where it was.
    // The page request is held back a little, so the rows on screen can be read before it lands.
    await page.route('**/transcript?**', async (route) => {
      await new Promise((r) => setTimeout(r, 600));
      await route.continue();
    });
    const loaded = page.waitForResponse((r) => r.url().includes('/transcript?'));
    await vlist.evaluate((el) => (el.scrollTop = 0));
    await page.waitForTimeout(150);
    const before = await vlist.evaluate((el) => {
      const top = el.getBoundingClientRect().top;
      const row = [...el.querySelectorAll('.msg[data-seq]')].find((r) => r.getBoundingClientRect().top >= top)!;
      return { seq: row.getAttribute('data-seq'), y: row.getBoundingClientRect().top };
    });
    await loaded;
    await page.unroute('**/transcript?**');
    await page.waitForTimeout(300);
    const afterY = await page.locator(`.msg[data-seq="${before.seq}"]`).evaluate((el) => el.getBoundingClientRect().top);
    assert.ok(Math.abs(afterY - before.y) < 12, `row ${before.seq} moved from ${before.y} to ${afterY}`);

    const started = Date.now();
    while (!(await page.locator('.msg.operator', { hasText: 'Work through the whole test suite' }).isVisible())) {
      assert.ok(Date.now() - started < 300_000, 'reached the first entry in time');
      await vlist.evaluate((el) => (el.scrollTop = 0));
      await page.waitForTimeout(60);
    }
    t.diagnostic(`${pageRequests.length} transcript pages fetched in ${Date.now() - started} ms`);
    assert.ok(pageRequests.length >= 39 && pageRequests.length <= 41, `${pageRequests.length} page requests`);
    assert.ok(pageRequests.every((u) => /limit=\d+/.test(u)));
    await page.locator('.msg.agent', { hasText: 'Entry #2:' }).waitFor();
    assert.ok((await page.locator('.vrow').count()) < 150, 'still only the visible rows');

    await page.click('.jump');
    await page.locator('.msg.agent', { hasText: `Entry #${ENTRIES - 1}:` }).waitFor();
    assert.deepEqual(consoleWatch.errors(), []);
  });
});
