/**
 * Where each agent's CLI binary is, found the way the worker (and the SDK) will find it:
 * env `CODEPLANE_<AGENT>_PATH`, then config `agents.<id>.path`, then (Copilot only) the SDK's own
 * `COPILOT_CLI_PATH`, then the binary bundled in the SDK's platform package. The bundled lookups
 * mirror the SDKs: `@anthropic-ai/claude-agent-sdk-<os>-<arch>[-musl]/claude[.exe]` resolved from
 * the SDK package, and `@github/copilot-sdk-<os|linuxmusl>-<arch>/prebuilds/<platform>/copilot-runtime`
 * (with its `runtime.node`).
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { AgentId } from '../../machines/job-spec.ts';

export interface BinaryLookupOptions {
  env: Record<string, string | undefined>;
  /** Config `agents.<id>.path`. */
  configPath?: string;
  platform?: NodeJS.Platform;
  arch?: string;
  musl?: boolean;
}

export type BinaryLookup =
  | { found: true; path: string; source: string }
  | { found: false; source: string; problem: string };

const ENV_NAME: Record<AgentId, string> = { claude: 'CODEPLANE_CLAUDE_PATH', copilot: 'CODEPLANE_COPILOT_PATH' };
const localRequire = createRequire(import.meta.url);

/** A path the SDK runs through node (a script) rather than executes directly. */
export const isScript = (path: string): boolean => /\.(c|m)?js$|\.tsx?$/.test(path);

function usable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    if (!isScript(path) && process.platform !== 'win32') accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** glibc or musl, the way both SDKs tell: a process report without a glibc version means musl. */
export function isMusl(): boolean {
  if (process.platform !== 'linux') return false;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime === undefined;
}

export function findAgentBinary(id: AgentId, opts: BinaryLookupOptions): BinaryLookup {
  const explicit: [string, string | undefined][] = [
    [ENV_NAME[id], opts.env[ENV_NAME[id]]],
    [`config agents.${id}.path`, opts.configPath],
    ...(id === 'copilot' ? ([['COPILOT_CLI_PATH', opts.env['COPILOT_CLI_PATH']]] as [string, string | undefined][]) : []),
  ];
  for (const [source, value] of explicit) {
    if (value === undefined || value.trim() === '') continue;
    if (usable(value)) return { found: true, path: value, source };
    return { found: false, source, problem: `${source} is ${value}, which ${existsSync(value) ? 'is not an executable file' : 'does not exist'}` };
  }
  return id === 'claude' ? bundledClaude(opts) : bundledCopilot(opts);
}

function bundledClaude(opts: BinaryLookupOptions): BinaryLookup {
  const platform = opts.platform ?? process.platform;
  const arch = opts.arch ?? process.arch;
  const base = '@anthropic-ai/claude-agent-sdk';
  const exe = platform === 'win32' ? '.exe' : '';
  const musl = opts.musl ?? isMusl();
  const names =
    platform === 'linux' ? (musl ? [`${base}-linux-${arch}-musl`, `${base}-linux-${arch}`] : [`${base}-linux-${arch}`, `${base}-linux-${arch}-musl`]) : [`${base}-${platform}-${arch}`];
  let sdkRequire: NodeRequire;
  try {
    sdkRequire = createRequire(localRequire.resolve(base));
  } catch {
    return { found: false, source: 'bundled', problem: `${base} is not installed; run npm install` };
  }
  for (const name of names) {
    try {
      const path = sdkRequire.resolve(`${name}/claude${exe}`);
      if (usable(path)) return { found: true, path, source: 'bundled' };
    } catch {
      // try the next candidate
    }
  }
  return {
    found: false,
    source: 'bundled',
    problem: `the Claude Code binary for ${platform}-${arch} is not installed (${names[0]}); reinstall without --omit=optional, or set CODEPLANE_CLAUDE_PATH to a claude binary`,
  };
}

function bundledCopilot(opts: BinaryLookupOptions): BinaryLookup {
  const platform = opts.platform ?? process.platform;
  const arch = opts.arch ?? process.arch;
  const hint = 'reinstall @github/copilot-sdk without --omit=optional, or set CODEPLANE_COPILOT_PATH';
  if ((arch !== 'x64' && arch !== 'arm64') || !['linux', 'darwin', 'win32'].includes(platform))
    return { found: false, source: 'bundled', problem: `the Copilot SDK ships no runtime for ${platform}-${arch}; set CODEPLANE_COPILOT_PATH` };
  const runtimePlatform = platform === 'linux' ? `${(opts.musl ?? isMusl()) ? 'linuxmusl' : 'linux'}-${arch}` : `${platform}-${arch}`;
  const name = `@github/copilot-sdk-${runtimePlatform}`;
  let searchPaths: string[];
  try {
    searchPaths = createRequire(localRequire.resolve('@github/copilot-sdk')).resolve.paths(name) ?? [];
  } catch {
    return { found: false, source: 'bundled', problem: '@github/copilot-sdk is not installed; run npm install' };
  }
  const root = searchPaths.map((p) => join(p, ...name.split('/'))).find((p) => existsSync(join(p, 'package.json')));
  if (!root) return { found: false, source: 'bundled', problem: `the Copilot runtime for ${runtimePlatform} is not installed (${name}); ${hint}` };
  const dir = join(root, 'prebuilds', runtimePlatform);
  const wrapper = join(dir, platform === 'win32' ? 'copilot-runtime.exe' : 'copilot-runtime');
  const nonEmpty = (p: string): boolean => existsSync(p) && statSync(p).size > 0;
  if (!nonEmpty(wrapper) || !nonEmpty(join(dir, 'runtime.node')))
    return { found: false, source: 'bundled', problem: `${name} is missing its runtime files; ${hint}` };
  // The SDK sets the run bit itself before spawning, so only existence matters here.
  return { found: true, path: wrapper, source: 'bundled' };
}
