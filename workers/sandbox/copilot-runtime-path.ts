import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The Copilot runtime the SDK would spawn when no CLI path is configured. Under the sandbox we
 * hand the SDK a launcher instead, so we must know the real runtime ourselves: asked of the
 * SDK's own resolver (not exported: loaded by file, checked at runtime, so an SDK that moves it
 * fails the start with this message instead of running anything unsandboxed).
 */
export async function bundledCopilotRuntime(): Promise<string> {
  const require = createRequire(import.meta.url);
  const dist = dirname(dirname(require.resolve('@github/copilot-sdk'))); // …/dist/cjs/index.js → …/dist
  const load = async (file: string): Promise<Record<string, unknown>> => (await import(pathToFileURL(join(dist, file)).href)) as Record<string, unknown>;
  const artifacts = await load('runtimeArtifacts.js');
  const version = (await load('cliVersion.js'))['COPILOT_CLI_VERSION'];
  const ensure = artifacts['ensureRuntimeBundle'];
  if (typeof ensure !== 'function' || typeof version !== 'string') {
    throw new Error('cannot find the bundled Copilot runtime to run it in the sandbox; set agents.copilot.path in config.json');
  }
  const path: unknown = await (ensure as (v: string) => Promise<unknown>)(version);
  if (typeof path !== 'string') throw new Error('the Copilot SDK did not name its runtime; set agents.copilot.path in config.json');
  return path;
}
