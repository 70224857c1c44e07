import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FAKE_CLAUDE = join(ROOT, 'test/fixtures/fake-claude');
export const OUT_DIR = join(ROOT, 'bench/out');
