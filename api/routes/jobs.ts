import Router from '@koa/router';
import { invalid } from '../../machines/app-error.ts';
import { literal, object, optional, str } from '../../machines/decode.ts';
import { AGENT_IDS, JOB_STATES, PERMISSION_MODES, type JobState } from '../../machines/job-spec.ts';
import { readJson } from '../body.ts';
import type { Ports } from '../ports.ts';
import { queryInt, queryString } from '../query.ts';

const MAX_PROMPT = 100_000;

const createJobBody = object({
  repo: str({ min: 1, max: 4096 }),
  prompt: str({ min: 1, max: MAX_PROMPT }),
  agent: literal(...AGENT_IDS),
  model: optional(str({ min: 1, max: 200 })),
  baseRef: optional(str({ min: 1, max: 255 })),
  branch: optional(str({ min: 1, max: 255 })),
  permissionMode: optional(literal(...PERMISSION_MODES)),
});

const messageBody = object({ content: str({ min: 1, max: MAX_PROMPT }) });
const resumeBody = object({ instruction: optional(str({ max: MAX_PROMPT })) });

function parseStates(raw: string | undefined): JobState[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const states = raw.split(',').map((s) => s.trim());
  for (const s of states) if (!JOB_STATES.includes(s as JobState)) throw invalid('INVALID_STATE_FILTER', `unknown state "${s}"`, 'state');
  return states as JobState[];
}

export function jobRoutes(ports: Ports): Router {
  const r = new Router({ prefix: '/api/jobs' });
  r.post('/', async (ctx) => {
    const body = await readJson(ctx, createJobBody);
    if (body.prompt.trim() === '') throw invalid('INVALID_INPUT', 'prompt: expected a non-empty string', 'prompt');
    ctx.status = 201;
    ctx.body = await ports.jobs.create(body);
  });
  r.get('/', (ctx) => {
    const cursor = queryString(ctx, 'cursor');
    const states = parseStates(queryString(ctx, 'state'));
    ctx.body = ports.jobs.list({ limit: queryInt(ctx, 'limit', { min: 1, max: 200, fallback: 50 }), ...(states ? { states } : {}), ...(cursor ? { cursor } : {}) });
  });
  r.get('/:id', async (ctx) => {
    ctx.body = await ports.jobs.detail(ctx.params['id']!);
  });
  r.get('/:id/snapshot', (ctx) => {
    ctx.body = ports.jobs.snapshot(ctx.params['id']!);
  });
  r.get('/:id/transcript', (ctx) => {
    const before = queryInt(ctx, 'before', { min: 1 });
    ctx.body = ports.jobs.transcript(ctx.params['id']!, { limit: queryInt(ctx, 'limit', { min: 1, max: 1000, fallback: 200 }), ...(before !== undefined ? { beforeSeq: before } : {}) });
  });
  r.get('/:id/logs', (ctx) => {
    const level = queryString(ctx, 'level');
    if (level !== undefined && !['debug', 'info', 'warn', 'error'].includes(level)) throw invalid('INVALID_LEVEL', `unknown level "${level}"`, 'level');
    ctx.body = ports.jobs.logs(ctx.params['id']!, { limit: queryInt(ctx, 'limit', { min: 1, max: 5000, fallback: 500 }), ...(level ? { level } : {}) });
  });
  r.post('/:id/messages', async (ctx) => {
    const { content } = await readJson(ctx, messageBody);
    await ports.jobs.sendMessage(ctx.params['id']!, content);
    ctx.status = 202;
    ctx.body = { accepted: true };
  });
  r.post('/:id/resume', async (ctx) => {
    const { instruction } = await readJson(ctx, resumeBody);
    ctx.body = await ports.jobs.resume(ctx.params['id']!, instruction);
  });
  r.post('/:id/cancel', async (ctx) => {
    ctx.body = await ports.jobs.cancel(ctx.params['id']!);
  });
  return r;
}
