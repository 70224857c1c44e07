/** The real-CLI tiers: finding the bundled Claude binary, and the agent processes a test started (by command line and environment). */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The platform binary the Agent SDK would use (the same candidates, in the same order). */
export function bundledClaude(): string | undefined {
  const require = createRequire(import.meta.url);
  const base = `@anthropic-ai/claude-agent-sdk-${process.platform}-${process.arch}`;
  const exe = process.platform === 'win32' ? 'claude.exe' : 'claude';
  for (const pkg of process.platform === 'linux' ? [base, `${base}-musl`] : [base]) {
    try {
      const path = join(dirname(require.resolve(`${pkg}/package.json`)), exe);
      if (existsSync(path)) return path;
    } catch {
      // not installed
    }
  }
  return undefined;
}

/** PIDs of running processes whose command line contains `needle` (what `pgrep -f` does; /proc where there is one). */
export function pgrep(needle: string): Set<number> {
  if (existsSync('/proc/self/cmdline')) {
    const pids = new Set<number>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) pids.add(Number(name));
      } catch {
        // exited meanwhile
      }
    }
    return pids;
  }
  try {
    return new Set(execFileSync('pgrep', ['-f', needle], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number));
  } catch {
    return new Set(); // exit 1: none
  }
}

/** Whether `pid` runs with `marker` in its environment; unknown (no /proc) counts as ours. */
export function hasEnvMarker(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(marker);
  } catch {
    return !existsSync('/proc'); // gone already on Linux; unknown elsewhere
  }
}

/** New `binary` processes started by this test (marked by env) that are still alive after `ms`. */
export async function leftovers(binary: string, before: Set<number>, marker: string, ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive = [...pgrep(binary)].filter((pid) => !before.has(pid) && pid !== process.pid && hasEnvMarker(pid, marker));
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The environment that points the real claude at the mock API and nowhere else. */
export function realClaudeEnv(home: string, mockUrl: string): NodeJS.ProcessEnv {
  return {
    CODEPLANE_CLAUDE_PATH: '', // '' = unset: the SDK's bundled binary
    ANTHROPIC_BASE_URL: mockUrl,
    ANTHROPIC_API_KEY: 'test-key',
    // No connectivity probe (HEAD /api/hello), telemetry, error reporting, update checks.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    HOME: home,
    CLAUDE_CONFIG_DIR: join(home, '.claude'),
    // Whatever the developer's shell has must not redirect or re-authenticate the CLI.
    ANTHROPIC_AUTH_TOKEN: undefined,
    ANTHROPIC_MODEL: undefined,
    CLAUDE_CODE_USE_BEDROCK: undefined,
    CLAUDE_CODE_USE_VERTEX: undefined,
    CLAUDE_CODE_OAUTH_TOKEN: undefined,
  };
}
