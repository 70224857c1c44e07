import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
export const VERSION = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
