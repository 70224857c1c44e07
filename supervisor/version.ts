import { readFileSync } from 'node:fs';
import { INSTALL } from './install-paths.ts';

const pkg = JSON.parse(readFileSync(INSTALL.packageJson, 'utf8')) as { version?: unknown };
export const VERSION = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
