/**
 * `cpl status`: is the server up, and the jobs by state: the ones that need the user first
 * (waiting for approval, then review), then the ones at work, then a count of the finished ones.
 */
import { call, connection, type Json } from './cli-client.ts';
import { CliUsageError } from './cli-auth.ts';
import { terminalSafe } from '../terminal/terminal-text.ts';
import { JOB_STATES, type JobState } from '../../machines/job-spec.ts';

/** Listed one line per job, in this order; the other states are only counted. */
const LISTED: readonly JobState[] = ['waiting_for_approval', 'review', 'running', 'preparing', 'queued'];
/** A server with more jobs than this is summarised from its first pages (newest first). */
const MAX_PAGES = 25;

export interface StatusJob {
  id: string;
  state: JobState;
  title: string;
  repo: string;
  resolution?: string;
}

/** Pure: the text `cpl status` prints for a server and its jobs. */
export function statusText(url: string, health: Json, jobs: readonly StatusJob[], truncated: boolean): string {
  const safe = (v: unknown) => terminalSafe(String(v ?? ''));
  const lines = [`up at ${safe(url)} (CodePlane ${safe(health['version'])}, up ${safe(health['uptimeSeconds'])} s)`];
  const storage = typeof health['storage'] === 'object' && health['storage'] !== null ? (health['storage'] as Json) : undefined;
  // Anything but ok means writes are refused (docs/api.md, /api/health `storage`): said first, with the reason.
  if (storage && storage['state'] !== 'ok')
    lines.push(`storage: ${safe(storage['state'])}${storage['cause'] ?? storage['problem'] ? ` (${safe(storage['cause'] ?? storage['problem'])})` : ''}: ${safe(storage['reason'])}; writes are refused`);
  if (jobs.length === 0) lines.push('no jobs');
  for (const state of LISTED) {
    const inState = jobs.filter((j) => j.state === state);
    if (inState.length === 0) continue;
    lines.push(`${state.replaceAll('_', ' ')} (${inState.length})`);
    for (const j of inState) lines.push(`  ${safe(j.id)}  ${safe(repoName(j.repo))}  ${safe(j.title).slice(0, 72)}`);
  }
  const counted = JOB_STATES.filter((s) => !LISTED.includes(s)).map((s) => [s, jobs.filter((j) => j.state === s).length] as const);
  if (counted.some(([, n]) => n > 0)) lines.push(counted.map(([s, n]) => `${s} ${n}`).join(' · '));
  if (truncated) lines.push(`(only the newest ${jobs.length} jobs were read)`);
  return `${lines.join('\n')}\n`;
}

const repoName = (path: string): string => path.split('/').filter(Boolean).pop() ?? path;

function decodeJob(v: unknown): StatusJob | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const j = v as Json;
  if (typeof j['id'] !== 'string' || typeof j['state'] !== 'string' || !(JOB_STATES as readonly string[]).includes(j['state'])) return undefined;
  return { id: j['id'], state: j['state'] as JobState, title: typeof j['title'] === 'string' ? j['title'] : String(j['prompt'] ?? ''), repo: typeof j['repo'] === 'string' ? j['repo'] : '' };
}

export async function statusCommand(): Promise<void> {
  const c = connection();
  const health = await call(c, 'GET', '/api/health');
  if (health.status !== 200) throw new CliUsageError(`a server was started at ${c.url} but its health check answered ${health.status}`);
  const jobs: StatusJob[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await call(c, 'GET', `/api/jobs?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (page.status === 401) throw new CliUsageError('the server refused this command (no valid CLI token in run/cli-token; set CPL_TOKEN)');
    if (page.status !== 200) throw new CliUsageError(`listing jobs answered ${page.status}`);
    const items = Array.isArray(page.body['items']) ? (page.body['items'] as unknown[]) : [];
    for (const item of items) {
      const job = decodeJob(item);
      if (job) jobs.push(job);
    }
    cursor = typeof page.body['nextCursor'] === 'string' ? page.body['nextCursor'] : undefined;
    pages += 1;
  } while (cursor && pages < MAX_PAGES);
  process.stdout.write(statusText(c.url, health.body, jobs, cursor !== undefined));
}
