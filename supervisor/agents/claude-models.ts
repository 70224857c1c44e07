/**
 * The models the Claude CLI offers, read from its initialize reply: a `query()` that never sends a
 * prompt (so no model call and no credentials needed), `supportedModels()`, then close. The CLI
 * child is ours (`spawnClaudeCodeProcess`) so it is surely gone afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SDKUserMessage, SpawnOptions, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';
import type { AgentModel } from '../../api/contract.ts';

export interface ClaudeModelsOptions {
  /** The CLI binary; undefined = the SDK's bundled one. */
  path: string | undefined;
  env: Record<string, string | undefined>;
  timeoutMs: number;
}

/** A prompt stream that never yields: the session stays at "initialized". */
const silence: AsyncIterable<SDKUserMessage> = {
  [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<SDKUserMessage>>(() => undefined) }),
};

export async function listClaudeModels(opts: ClaudeModelsOptions): Promise<AgentModel[]> {
  // Loaded on first use: the SDK is about 30 MB of resident memory the idle server should not hold.
  const { query } = await import('@anthropic-ai/claude-agent-sdk');
  const cwd = mkdtempSync(join(tmpdir(), 'cpl-claude-probe-'));
  let child: ChildProcess | undefined;
  const q = query({
    prompt: silence,
    options: {
      cwd,
      env: opts.env,
      settingSources: [],
      ...(opts.path ? { pathToClaudeCodeExecutable: opts.path } : {}),
      spawnClaudeCodeProcess: (o: SpawnOptions): SpawnedProcess => {
        child = spawn(o.command, o.args, { cwd: o.cwd, env: o.env, signal: o.signal, stdio: ['pipe', 'pipe', 'pipe'] });
        child.on('error', () => undefined);
        child.stderr?.resume();
        return child as SpawnedProcess;
      },
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the Claude CLI did not answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    });
    const models = await Promise.race([q.supportedModels(), timeout]);
    return models.map((m) => ({ id: m.value, name: m.displayName || m.value }));
  } finally {
    clearTimeout(timer);
    q.close();
    await stopChild(child);
    rmSync(cwd, { recursive: true, force: true });
  }
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit').catch(() => undefined);
  const waited = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
  if (await waited(1000)) return;
  child.kill('SIGTERM');
  if (await waited(2000)) return;
  child.kill('SIGKILL');
  await exited;
}
