/**
 * `cpl run --repo PATH --agent claude|copilot [--model M] [--mode MODE] "prompt"`:
 * creates a job on the running server (found through run/server.json, with
 * the per-run CLI token from run/cli-token), follows its events here, and
 * lets the user answer approvals on stdin: `y`, or `n`, optionally followed
 * by a note ("n use pnpm instead"). Exits 0 at review/completed, 1 on failure.
 */
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { AGENT_IDS, PERMISSION_MODES } from '../../machines/job-spec.ts';
import { CliUsageError } from './cli-auth.ts';
import { call, connection, type Json } from './cli-client.ts';
import { terminalSafe } from '../terminal/terminal-text.ts';

/** Terminal-safe text: control characters (ANSI escapes included) are shown, not obeyed; newlines and tabs stay. */
const safe = (s: unknown): string => terminalSafe(String(s ?? ''), { multiline: true });
const out = (line: string): void => void process.stdout.write(`${line}\n`);

const errorOf = (b: Json): string => safe((b['error'] as Json | undefined)?.['message'] ?? 'request failed');

function describe(type: string, d: Json): string | undefined {
  const entry = d['entry'] as Json | undefined;
  switch (type) {
    case 'job_state_changed':
      return `● ${safe(d['from'])} → ${safe(d['to'])}${d['reason'] ? ` (${safe(d['reason'])})` : ''}`;
    case 'transcript_update':
      if (!entry || entry['role'] === 'agent_delta' || entry['role'] === 'reasoning') return undefined;
      if (entry['role'] === 'tool_call') return `  → ${safe(entry['toolName'])} ${safe(JSON.stringify(entry['toolInput'] ?? '')).slice(0, 200)}`;
      if (entry['role'] === 'tool_result') return `  ← ${entry['toolSuccess'] === false ? 'failed' : 'ok'} ${safe(String(entry['toolOutput'] ?? '').split('\n')[0]).slice(0, 200)}`;
      return `${safe(entry['role'])}: ${safe(entry['text'])}`;
    case 'approval_resolved':
      return `  approval ${safe(d['resolution'])}${d['note'] ? `: ${safe(d['note'])}` : ''}`;
    case 'log_line':
      return d['level'] === 'warn' || d['level'] === 'error' ? `  [${safe(d['level'])}] ${safe(d['message'])}` : undefined;
    case 'diff_update': {
      const s = d['stats'] as Json;
      return `  diff: ${safe(s['files'])} files, +${safe(s['additions'])} −${safe(s['deletions'])}`;
    }
    case 'job_resolved':
      return `● resolved: ${safe(d['resolution'])}${d['prUrl'] ? ` ${safe(d['prUrl'])}` : ''}`;
    default:
      return undefined;
  }
}

/** SSE frames from a fetch body: `{type, data}` per event. */
async function* frames(body: ReadableStream<Uint8Array>): AsyncGenerator<{ type: string; data: Json }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let idx: number;
    while ((idx = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, idx);
      buffer = buffer.slice(idx + 2);
      const type = /^event: (.*)$/m.exec(block)?.[1];
      const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (type && data) yield { type, data: JSON.parse(data) as Json };
    }
  }
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { repo: { type: 'string' }, agent: { type: 'string' }, model: { type: 'string' }, mode: { type: 'string' } }, allowPositionals: true, strict: true });
  const prompt = positionals.join(' ').trim();
  if (!values.repo || !values.agent || !prompt) throw new CliUsageError('usage: cpl run --repo PATH --agent claude|copilot [--model M] [--mode MODE] "prompt"');
  if (!(AGENT_IDS as readonly string[]).includes(values.agent)) throw new CliUsageError(`--agent must be one of ${AGENT_IDS.join(', ')}`);
  if (values.mode && !(PERMISSION_MODES as readonly string[]).includes(values.mode)) throw new CliUsageError(`--mode must be one of ${PERMISSION_MODES.join(', ')}`);
  if (!existsSync(values.repo)) throw new CliUsageError(`${values.repo} does not exist`);
  const c = connection();
  const repo = realpathSync(resolve(values.repo));
  const added = await call(c, 'POST', '/api/repos', { path: repo });
  if (added.status >= 400) throw new CliUsageError(errorOf(added.body));
  const created = await call(c, 'POST', '/api/jobs', { repo, prompt, agent: values.agent, ...(values.model ? { model: values.model } : {}), ...(values.mode ? { permissionMode: values.mode } : {}) });
  if (created.status !== 201) throw new CliUsageError(errorOf(created.body));
  const jobId = String(created.body['id']);
  out(`job ${jobId} created: ${safe(created.body['title'])}\n  follow it at ${c.url}/jobs/${jobId}`);

  const lines = createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
  let approvals = Promise.resolve();
  const answer = (a: Json) =>
    (approvals = approvals.then(async () => {
      process.stdout.write(`  approve? [y/n, then an optional note] `);
      const line = await lines.next();
      if (line.done) return out('\n  (no answer on stdin: answer it in the browser)');
      const m = /^\s*(y|yes|n|no)\b\s*(.*)$/i.exec(line.value);
      if (!m) return out('  not answered (type y or n); answer it in the browser');
      const resolution = m[1]!.toLowerCase().startsWith('y') ? 'approved' : 'rejected';
      const r = await call(c, 'POST', `/api/approvals/${encodeURIComponent(String(a['id']))}/resolve`, { resolution, ...(m[2] ? { note: m[2] } : {}) });
      if (r.status >= 400) out(`  ${errorOf(r.body)}`);
    }));

  const abort = new AbortController();
  const res = await fetch(`${c.url}/api/events?jobId=${encodeURIComponent(jobId)}`, { headers: { ...c.headers, accept: 'text/event-stream' }, signal: abort.signal });
  if (!res.ok || !res.body) throw new CliUsageError(`cannot follow the job's events (HTTP ${res.status})`);
  let code = 1;
  try {
    for await (const { type, data } of frames(res.body)) {
      const line = describe(type, data);
      if (line) out(line);
      if (type === 'approval_requested') {
        const a = data['approval'] as Json;
        const detail = a['detail'] as Json | undefined;
        out(`? approval needed (${safe(a['kind'])}): ${safe(a['summary'])}${detail?.['command'] ? `\n    ${safe(detail['command'])}` : ''}`);
        answer(a);
      }
      if (type === 'job_state_changed' && ['review', 'completed', 'failed', 'canceled'].includes(String(data['to']))) {
        code = data['to'] === 'review' || data['to'] === 'completed' ? 0 : 1;
        break;
      }
    }
  } finally {
    abort.abort();
  }
  return code;
}
