/**
 * Databases for benchmarks that need a history: the real schema (openDatabase
 * runs the migrations), a repo and jobs inserted with the real repositories,
 * and events appended through the real EventLog.
 */
import { join } from 'node:path';
import type { JobState } from '../../machines/job-spec.ts';
import type { DomainEvent, SequencedEvent, TranscriptEntry } from '../../machines/domain-events.ts';
import { openDatabase, type Db } from '../../supervisor/db/database.ts';
import { insertJob } from '../../supervisor/db/jobs-repo.ts';
import { insertRepo } from '../../supervisor/db/repos-repo.ts';
import { EventHub } from '../../supervisor/events/event-hub.ts';
import { EventLog } from '../../supervisor/events/event-log.ts';

export interface Seeded {
  db: Db;
  log: EventLog;
  hub: EventHub;
  close(): void;
}

/** Opens (creating) the database of a CODEPLANE_HOME, or any file. */
export function openSeedDb(file: string): Seeded {
  const db = openDatabase(file);
  const hub = new EventHub();
  return { db, hub, log: new EventLog(db, hub), close: () => db.close() };
}

export const homeDb = (home: string): string => join(home, 'codeplane.db');

export function seedRepo(db: Db, id: string, path: string): void {
  insertRepo(db, { id, path, name: id, defaultBranch: 'main', createdAt: new Date().toISOString() });
}

export function seedJob(db: Db, id: string, repoId: string, opts: { state?: JobState; worktreePath?: string; prompt?: string } = {}): void {
  insertJob(db, {
    id,
    repoId,
    title: `bench ${id}`,
    prompt: opts.prompt ?? 'benchmark history',
    agent: 'claude',
    model: null,
    permissionMode: 'full_auto',
    baseRef: 'main',
    branch: `bench/${id}`,
    worktreePath: opts.worktreePath ?? `/nonexistent/${id}`,
    createdAt: new Date().toISOString(),
    ...(opts.state ? { state: opts.state } : {}),
  });
}

/** A streamed text delta as the Claude adapter produces it (about 80 bytes of text). */
export function deltaEvent(seq: number, text = `token ${seq} of a streamed answer, about as long as a real delta `): SequencedEvent {
  return { seq, ts: new Date().toISOString(), event: { type: 'transcript_update', entry: { seq, role: 'agent_delta', text } } };
}

/** A transcript of realistic variety: user prompts, agent messages, tool calls and results. */
export function transcriptEvent(seq: number): SequencedEvent {
  const k = seq % 10;
  let entry: TranscriptEntry;
  if (k === 0) entry = { seq, role: 'operator', text: `Please look at item ${seq} and fix what is wrong with it.` };
  else if (k <= 3) entry = { seq, role: 'agent', text: `Step ${seq}: I read the file and found the problem in the parser. ${'The fix is small. '.repeat(1 + (seq % 5))}` };
  else if (k <= 6) entry = { seq, role: 'tool_call', toolName: 'Bash', toolInput: { command: `grep -rn "item${seq}" src/` }, toolCallId: `t${seq}` };
  else if (k <= 8) entry = { seq, role: 'tool_result', toolOutput: `src/file${seq}.ts:${seq}: export const item${seq} = ${seq};\n`.repeat(1 + (seq % 3)), toolSuccess: true, toolCallId: `t${seq - 3}`, durationMs: 12 };
  else entry = { seq, role: 'reasoning', text: `Thinking about step ${seq}.` };
  const event: DomainEvent = { type: 'transcript_update', entry };
  return { seq, ts: new Date().toISOString(), event };
}

/** Appends `count` events made by `make(seq)` in batches, starting after `fromSeq`. */
export function appendMany(log: EventLog, jobId: string, count: number, make: (seq: number) => SequencedEvent, fromSeq = 0, batch = 1000): number {
  let seq = fromSeq;
  while (seq < fromSeq + count) {
    const n = Math.min(batch, fromSeq + count - seq);
    log.append(jobId, Array.from({ length: n }, (_, i) => make(seq + 1 + i)));
    seq += n;
  }
  return seq;
}
