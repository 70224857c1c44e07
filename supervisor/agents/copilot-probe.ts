/**
 * A short-lived Copilot runtime, started through the real SDK to ask it something (its version,
 * whether the user is signed in, the models) and stopped again. Bounded in time; the runtime is
 * killed if it does not stop. Runs in a temporary directory, with the environment jobs get.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CopilotClient } from '@github/copilot-sdk';

/** The BYOK provider setting (see workers/agents/copilot-provider.ts): model calls go to it, not to GitHub. */
export const COPILOT_PROVIDER_ENV = 'CODEPLANE_COPILOT_PROVIDER';

export class ProbeTimeout extends Error {
  override name = 'ProbeTimeout';
}

/** The runtime could not start at all (a broken binary, a protocol mismatch). */
export class ProbeStartFailure extends Error {
  override name = 'ProbeStartFailure';
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeout(`${what} took longer than ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const definedEnv = (env: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[0] !== COPILOT_PROVIDER_ENV));

export interface ProbeOptions {
  /** The runtime binary; undefined = the SDK's bundled one. */
  path: string | undefined;
  env: Record<string, string | undefined>;
  timeoutMs: number;
}

export async function withCopilotClient<T>(opts: ProbeOptions, fn: (client: CopilotClient) => Promise<T>): Promise<T> {
  // Loaded on first use: the idle server should not hold the SDK (about 12 MB of resident memory).
  const { CopilotClient, RuntimeConnection } = await import('@github/copilot-sdk');
  const cwd = mkdtempSync(join(tmpdir(), 'cpl-copilot-probe-'));
  const byok = (opts.env[COPILOT_PROVIDER_ENV] ?? '').trim() !== '';
  const client = new CopilotClient({
    connection: RuntimeConnection.forStdio(opts.path ? { path: opts.path } : {}),
    env: definedEnv(opts.env),
    workingDirectory: cwd,
    ...(opts.env['COPILOT_HOME'] ? { baseDirectory: opts.env['COPILOT_HOME'] } : {}),
    // With a BYOK provider jobs never use the GitHub login; neither does the probe.
    ...(byok ? { useLoggedInUser: false } : {}),
  });
  try {
    try {
      await within(client.start(), opts.timeoutMs, 'starting the Copilot runtime');
    } catch (err) {
      if (err instanceof ProbeTimeout) throw err;
      throw new ProbeStartFailure(err instanceof Error ? err.message : String(err));
    }
    quietStderr(client);
    return await within(fn(client), opts.timeoutMs, 'the Copilot runtime');
  } finally {
    const stopping = client.stop();
    await within(stopping, 2000, 'stopping the Copilot runtime').catch(async () => {
      stopping.catch(() => undefined);
      await client.forceStop().catch(() => undefined);
    });
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** The SDK copies every runtime stderr line to ours; a status probe has nothing to say there. */
function quietStderr(client: CopilotClient): void {
  const child: unknown = Reflect.get(client, 'cliProcess');
  const stderr = typeof child === 'object' && child !== null ? (Reflect.get(child, 'stderr') as NodeJS.ReadableStream | null | undefined) : undefined;
  if (!stderr || typeof stderr.removeAllListeners !== 'function') return;
  stderr.removeAllListeners('data');
  stderr.on('data', () => undefined);
}

/** How the runtime says it needs a GitHub login. */
export const NOT_AUTHENTICATED = /not authenticated|authenticate first|no authentication|not logged in/i;
