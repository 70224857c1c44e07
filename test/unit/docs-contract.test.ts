import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DOMAIN_EVENT_TYPES } from '../../machines/domain-events.ts';

// docs/ is the contract: what the server can answer must be written there.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const API_DOC = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every stable code passed to the error helpers (machines/app-error.ts) or to `new AppError`. */
const RAISED = /\b(?:invalid|notFound|conflict|forbidden|unavailable|tooLarge|rateLimited|unauthenticated)\(\s*'([A-Z][A-Z0-9_]+)'|new AppError\(\s*'[a-z_]+',\s*'([A-Z][A-Z0-9_]+)'/g;

function raisedCodes(): Map<string, string> {
  const found = new Map<string, string>();
  for (const dir of ['api', 'supervisor', 'machines', 'workers']) {
    for (const file of sources(join(ROOT, dir))) {
      for (const m of readFileSync(file, 'utf8').matchAll(RAISED)) {
        const code = m[1] ?? m[2]!;
        if (!found.has(code)) found.set(code, relative(ROOT, file));
      }
    }
  }
  return found;
}

describe('docs/api.md is the contract', () => {
  it('names every error code the server raises', () => {
    const codes = raisedCodes();
    assert.ok(codes.size > 40, `the scan finds the codes (${codes.size})`);
    const missing = [...codes].filter(([code]) => !API_DOC.includes(`\`${code}\``)).map(([code, file]) => `${code} (${file})`);
    assert.deepEqual(missing, [], 'error codes raised in the code but not documented in docs/api.md');
  });

  it('describes every domain event type', () => {
    const missing = DOMAIN_EVENT_TYPES.filter((t) => !new RegExp(`\`${t}[ \`]`).test(API_DOC));
    assert.deepEqual(missing, [], 'event types not documented in docs/api.md');
  });
});
