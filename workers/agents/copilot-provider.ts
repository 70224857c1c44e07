import type { ProviderConfig } from '@github/copilot-sdk';
import { decode, DecodeError, int, literal, object, optional, record, str, type Decoder } from '../../machines/decode.ts';

/**
 * BYOK ("bring your own key") for Copilot: env `CODEPLANE_COPILOT_PROVIDER` holds a JSON object
 * `{type?: "openai"|"azure"|"anthropic", baseUrl, apiKey?, bearerToken?, wireApi?, transport?,
 * headers?, azure?: {apiVersion?}, modelId?, wireModel?, maxPromptTokens?, maxOutputTokens?}`
 * (the SDK's ProviderConfig). When set, every Copilot session is created with it as `provider`
 * (model calls go to `baseUrl`, not to GitHub) and the client runs with `useLoggedInUser: false`,
 * so no GitHub login is needed. The job's `model` is the model name sent to the provider unless
 * `modelId`/`wireModel` say otherwise. Example:
 *
 *   CODEPLANE_COPILOT_PROVIDER='{"type":"anthropic","baseUrl":"http://127.0.0.1:8123","apiKey":"sk-…"}'
 *
 * The runtime's data directory follows env `COPILOT_HOME` (passed as the client's `baseDirectory`).
 */
export const COPILOT_PROVIDER_ENV = 'CODEPLANE_COPILOT_PROVIDER';

const httpUrl: Decoder<string> = (v, f) => {
  const s = str({ min: 1 })(v, f);
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new DecodeError(f, 'an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DecodeError(f, 'an http(s) URL');
  return s;
};

const stringMap: Decoder<Record<string, string>> = (v, f) => {
  const r = record(v, f);
  return Object.fromEntries(Object.entries(r).map(([k, x]) => [k, str()(x, `${f}.${k}`)]));
};

const providerDecoder = object({
  type: optional(literal('openai', 'azure', 'anthropic')),
  wireApi: optional(literal('completions', 'responses')),
  transport: optional(literal('http', 'websockets')),
  baseUrl: httpUrl,
  apiKey: optional(str()),
  bearerToken: optional(str()),
  azure: optional(object({ apiVersion: optional(str({ min: 1 })) })),
  headers: optional(stringMap),
  modelId: optional(str({ min: 1 })),
  wireModel: optional(str({ min: 1 })),
  maxPromptTokens: optional(int({ min: 1 })),
  maxOutputTokens: optional(int({ min: 1 })),
});

export type CopilotProviderSetting = { ok: true; provider: ProviderConfig | undefined } | { ok: false; reason: string };

/**
 * Reads the BYOK provider from the agent's environment. Unset or blank: no provider. The reason
 * for a bad value names the field but never echoes the value (it may hold a key).
 */
export function copilotProviderFrom(env: Record<string, string | undefined>): CopilotProviderSetting {
  const raw = env[COPILOT_PROVIDER_ENV];
  if (raw === undefined || raw.trim() === '') return { ok: true, provider: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    // V8's message quotes the input, which may contain the API key: keep only the position.
    const at = err instanceof Error ? /position (\d+)/.exec(err.message)?.[1] : undefined;
    return { ok: false, reason: `${COPILOT_PROVIDER_ENV} is not valid JSON${at ? ` (at position ${at})` : ''}` };
  }
  const result = decode(providerDecoder, parsed);
  if (!result.ok) return { ok: false, reason: `${COPILOT_PROVIDER_ENV} is not a valid provider: ${result.error.message}` };
  return { ok: true, provider: result.value };
}

/** One line for the job log: which provider, never the credentials. */
export function describeProvider(p: ProviderConfig): string {
  return `${p.type ?? 'openai'} provider at ${p.baseUrl}${p.wireModel ?? p.modelId ? ` (model ${p.wireModel ?? p.modelId})` : ''}`;
}
