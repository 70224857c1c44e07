/**
 * Redaction: secrets out of text before it is stored or shown. ONE function set, pure, used
 * where events leave a job's worker (workers/event-redaction.ts), on the worker's log lines,
 * and again by the share projection (supervisor/share-projection.ts) with the server's own
 * secret values. Two kinds of finding:
 *
 * - token-shaped strings: GitHub tokens (`ghp_` `gho_` `ghu_` `ghs_` `ghr_`, `github_pat_`),
 *   Anthropic and other `sk-` keys, AWS access key ids and secret keys, private-key blocks,
 *   `Authorization:` and `Bearer` values, Slack tokens, JWTs, passwords in URLs, and values
 *   assigned to secret-looking names (`DB_PASSWORD=…`, `"apiKey": "…"`);
 * - the exact values of the process's secret environment variables (names that look like a
 *   credential, see `looksSecret`), 8 characters or longer.
 *
 * A finding becomes `[REDACTED:<kind>]`. A redactor over-redacts rather than under-redacts:
 * a word that merely looks like a token is lost from the transcript, never a token kept.
 */

export type Env = Record<string, string | undefined>;

interface Rule {
  kind: string;
  re: RegExp;
  /** The groups kept around the secret (a prefix such as `Authorization: Bearer `); the rest is replaced. */
  keep?: 'prefix';
}

const MARK = (kind: string): string => `[REDACTED:${kind}]`;
/** A value already replaced is not a value to replace again. */
const NOT_MARK = '(?!\\[REDACTED:)';
const SCHEMES = '(?:bearer|basic|token|bot|digest)';

/**
 * Each rule starts only where a token can start (a lookbehind: not inside a run of token
 * characters) and bounds what it scans: a text of 100 KB of near-misses (`MY_TOKEN_MY_TOKEN_…`,
 * `eyJ-eyJ-…`, `a.a.a…://`) costs linear time, never quadratic (the share projection runs
 * these on the server's main thread). See the "hostile sizes" tests.
 */
const RULES: readonly Rule[] = [
  // Multi-line first: a key block's body is base64 lines that no other rule would recognise.
  // An unterminated block (cut output) is redacted to the end of the text.
  { kind: 'private-key', re: /-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|$)/g },
  { kind: 'github-token', re: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{20,}/g },
  { kind: 'github-token', re: /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{20,}/g },
  { kind: 'anthropic-key', re: /(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{10,}/g },
  { kind: 'api-key', re: /(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}/g },
  { kind: 'slack-token', re: /(?<![A-Za-z0-9_-])xox[abposre]-[A-Za-z0-9-]{10,}/g },
  { kind: 'aws-access-key-id', re: /(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Za-z0-9])/g },
  { kind: 'jwt', re: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  // The AWS secret has no shape of its own: recognised by the name in front of it.
  { kind: 'aws-secret', re: new RegExp(`(aws_?secret_?(?:access_?)?key(?:_id)?["']?[ \\t]{0,16}[:=][ \\t]{0,16}["']?)${NOT_MARK}[A-Za-z0-9/+=]{20,}`, 'gi'), keep: 'prefix' },
  // The scheme word is kept, never taken for the value (`Authorization: Bearer [REDACTED:jwt]` stays as it is).
  { kind: 'authorization', re: new RegExp(`((?<![A-Za-z0-9_])authorization["']?[ \\t]{0,16}[:=][ \\t]{0,16}["']?(?:${SCHEMES}[ \\t]{1,16})?)${NOT_MARK}(?!${SCHEMES}\\s)[^\\s"',;]+`, 'gi'), keep: 'prefix' },
  { kind: 'bearer', re: new RegExp(`((?<![A-Za-z0-9_])bearer[ \\t]{1,16})${NOT_MARK}[A-Za-z0-9._~+/-]{16,}=*`, 'gi'), keep: 'prefix' },
  { kind: 'url-password', re: new RegExp(`((?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,31}://[^\\s:/@]{1,256}:)${NOT_MARK}[^\\s@/]{1,256}(?=@)`, 'gi'), keep: 'prefix' },
  // `FOO_TOKEN=…`, `export DB_PASSWORD="…"`: upper-case names only (code such as `token = getToken()` is not a secret).
  { kind: 'secret-assignment', re: new RegExp(`((?<![A-Za-z0-9_])[A-Z][A-Z0-9_]{0,63}(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)[A-Z0-9_]{0,63}[ \\t]{0,16}[=:][ \\t]{0,16}["']?)${NOT_MARK}[^\\s"'$(){}<>]{8,}`, 'g'), keep: 'prefix' },
  // JSON and YAML-ish: `"apiKey": "…"`.
  { kind: 'secret-assignment', re: new RegExp(`("(?:password|passwd|secret|client_?secret|token|access_?token|refresh_?token|api_?key|private_?key)"[ \\t]{0,16}:[ \\t]{0,16}")${NOT_MARK}[^"]{8,}(?=")`, 'gi'), keep: 'prefix' },
];

const SECRET_WORDS = /^(?:TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|KEY|APIKEY|CREDENTIALS?|COOKIE|PAT)$|(?:TOKEN|SECRET|PASSWORD|APIKEY|ACCESSKEY)$/;

/**
 * Whether a variable's (or a JSON field's) name says its value is a credential: one of its
 * words (split at `_`, `-`, `.` and camelCase humps) is TOKEN, SECRET, PASSWORD, KEY... Words,
 * not substrings: GIT_AUTHOR_NAME is not secret, and its value is not redacted wherever it occurs.
 */
export function looksSecret(name: string): boolean {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase().split(/[^A-Z0-9]+/);
  return words.some((w) => SECRET_WORDS.test(w));
}

/** The shortest value redacted by exact match: shorter ones would hit ordinary words. */
export const MIN_SECRET_LENGTH = 8;

/**
 * The values to redact by exact match: secret-looking variables of `env`, and secret-looking
 * fields of a variable holding JSON (the Copilot BYOK provider's `apiKey`). Longest first, so a
 * value containing another is replaced whole.
 */
export function secretValuesFrom(env: Env): { name: string; value: string }[] {
  const out = new Map<string, string>();
  const add = (name: string, value: unknown) => {
    // Trimmed: a value read from a file often ends in a newline that the text it leaks into does not have.
    const v = typeof value === 'string' ? value.trim() : '';
    if (v.length >= MIN_SECRET_LENGTH && !out.has(v)) out.set(v, name);
  };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (looksSecret(name)) add(name, value);
    if (value.trimStart().startsWith('{')) {
      try {
        const parsed: unknown = JSON.parse(value);
        if (typeof parsed === 'object' && parsed !== null)
          for (const [k, v] of Object.entries(parsed)) if (looksSecret(k)) add(name, v);
      } catch {
        // not JSON: only its name counts
      }
    }
  }
  return [...out.entries()].map(([value, name]) => ({ name, value })).sort((a, b) => b.value.length - a.value.length);
}

export interface Redactor {
  /** The text with every finding replaced. */
  text(s: string): string;
  /** A JSON-like value with every string in it redacted (keys kept); other values untouched. */
  value<T>(v: T): T;
}

/** A redactor for the token shapes and the given exact secret values (see `secretValuesFrom`). */
export function createRedactor(secrets: readonly { name: string; value: string }[] = []): Redactor {
  const exact = secrets.filter((s) => s.value.length >= MIN_SECRET_LENGTH);
  const text = (s: string): string => {
    if (s.length === 0) return s;
    let out = s;
    for (const { name, value } of exact) if (out.includes(value)) out = out.split(value).join(MARK(`env:${name}`));
    for (const rule of RULES) {
      rule.re.lastIndex = 0;
      if (!rule.re.test(out)) continue;
      rule.re.lastIndex = 0;
      out = rule.keep === 'prefix' ? out.replace(rule.re, (_m, prefix: string) => `${prefix}${MARK(rule.kind)}`) : out.replace(rule.re, MARK(rule.kind));
    }
    return out;
  };
  const value = <T>(v: T): T => walk(v, text) as T;
  return { text, value };
}

/** Deeper than this, a value is not walked but replaced: a hostile tool input nested 100,000 deep must not overflow the stack. */
export const MAX_DEPTH = 64;
export const TOO_DEEP = '[REDACTED:too-deep]';

function walk(v: unknown, text: (s: string) => string, depth = 0): unknown {
  if (typeof v === 'string') return text(v);
  if (typeof v !== 'object' || v === null) return v;
  if (depth >= MAX_DEPTH) return TOO_DEEP;
  if (Array.isArray(v)) return v.map((x) => walk(x, text, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = walk(x, text, depth + 1);
  return out;
}

/**
 * A serialized JSON log line, redacted value by value (redacting the raw text could cut an
 * escape sequence in half and break the line). A line that is not JSON is redacted as text.
 */
export function redactJsonLine(line: string, redactor: Redactor): string {
  try {
    return `${JSON.stringify(redactor.value(JSON.parse(line) as unknown))}\n`;
  } catch {
    return redactor.text(line);
  }
}
