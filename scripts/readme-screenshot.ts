/**
 * Makes docs/screenshot.png, the picture in the README: a real server with the fake agent, a job
 * in review, one waiting for an approval and one at work, on the dashboard in Chromium.
 *   node --import tsx scripts/readme-screenshot.ts
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from '../api/contract.ts';
import { ROOT, api } from '../test/helpers/server-process.ts';
import { launchBrowser, screenshot, startServerWithUi } from '../test/helpers/browser.ts';
import { makeRepo } from '../test/helpers/git-repo.ts';
import { SseClient } from '../test/helpers/sse-client.ts';

const repo = makeRepo('my-project-');
const server = await startServerWithUi({ cwd: repo });
try {
  const sse = await SseClient.open(`${server.url}/api/events`);
  const create = async (prompt: string, permissionMode: string) => (await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt, agent: 'claude', permissionMode })).body;
  // The fake agent's directives go on a later line: the dashboard shows each job's first line.
  const reviewed = await create('Add a CONTRIBUTING.md that explains how to run the tests\n\n[[write CONTRIBUTING.md # Contributing]]', 'full_auto');
  const waiting = await create('Fix the flaky retry test in the HTTP client\n\n[[bash npm test -- retry]]', 'review_and_approve');
  await create('Port the settings page to the new form components\n\n[[hang]]', 'full_auto');
  await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === reviewed.id && e.data['to'] === 'review', 60_000, 'review');
  await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === waiting.id && e.data['to'] === 'waiting_for_approval', 60_000, 'approval');
  sse.close();
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  await page.goto(`${server.url}/`);
  await page.waitForLoadState('networkidle');
  const file = await screenshot(page, 'readme');
  copyFileSync(file, join(ROOT, 'docs/screenshot.png'));
  await browser.close();
  console.log('wrote docs/screenshot.png');
} finally {
  await server.stop();
}
