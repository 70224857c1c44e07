/**
 * Temporary CodePlane homes and git repositories for benchmarks. Everything
 * lives under one temp directory per run, removed at the end.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OUT_DIR } from './root.ts';

const ROOT_DIRS: string[] = [];

export function benchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cpl-bench-${prefix}-`));
  ROOT_DIRS.push(dir);
  return dir;
}

/** Removes every directory benchDir handed out (call once every process under them is gone). */
export function removeBenchDirs(): void {
  if (process.env['CPL_BENCH_KEEP'] === '1') return void process.stderr.write(`kept: ${ROOT_DIRS.join(' ')}\n`);
  for (const d of ROOT_DIRS.splice(0)) rmSync(d, { recursive: true, force: true, maxRetries: 3 });
}

export interface HomeConfig {
  maxConcurrentJobs?: number;
  maxJobsPerRepo?: number;
}

/** A fresh CODEPLANE_HOME with a config.json (caps raised so a benchmark's jobs start at once). */
export function makeHome(parent: string, config: HomeConfig = {}): string {
  const home = join(parent, 'home');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(
    join(home, 'config.json'),
    // Workers stay up while their jobs idle in review (the fleet's are measured there); bench/parking.ts parks them on purpose.
    JSON.stringify({ maxConcurrentJobs: config.maxConcurrentJobs ?? 64, maxJobsPerRepo: config.maxJobsPerRepo ?? 64, cleanupResolvedWorktrees: true, idleWorkerSeconds: 0 }),
  );
  return home;
}

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@b' };

export const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: GIT_ENV, maxBuffer: 64 << 20 }).trim();

/**
 * A git repository on `main` with `files` small source files (200 per
 * directory) in one commit. Large ones are built once with `git fast-import`
 * into bench/out/cache/ (slow on this kind of machine: tens of seconds of
 * system time) and cloned from there with hardlinks; the clone's own working
 * tree is left unchecked-out (HEAD is main; worktrees check out from the
 * commit, which is what benchmarks time).
 */
export function makeRepo(parent: string, files = 1): string {
  const dir = join(parent, 'repo');
  if (files <= 1) {
    mkdirSync(dir, { recursive: true });
    git(dir, 'init', '-q', '-b', 'main');
    writeFileSync(join(dir, 'README.md'), '# bench repo\n');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'initial');
    return dir;
  }
  const cache = join(OUT_DIR, 'cache', `repo-${files}.git`);
  if (!existsSync(join(cache, 'refs/heads/main')) || !existsSync(join(cache, 'fast-import-done'))) {
    rmSync(cache, { recursive: true, force: true });
    mkdirSync(cache, { recursive: true });
    git(cache, 'init', '-q', '--bare', '-b', 'main');
    const chunks: string[] = ['commit refs/heads/main\ncommitter bench <b@b> 1700000000 +0000\ndata 7\ninitial\n'];
    const add = (path: string, content: string) => chunks.push(`M 100644 inline ${path}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
    add('README.md', '# bench repo\n');
    for (let i = 0; i < files - 1; i++) add(`src/d${Math.floor(i / 200)}/f${i}.ts`, `export const v${i} = ${i};\n// ${'x'.repeat(i % 200)}\n`);
    execFileSync('git', ['fast-import', '--quiet'], { cwd: cache, input: chunks.join(''), env: GIT_ENV, maxBuffer: 64 << 20 });
    writeFileSync(join(cache, 'fast-import-done'), '');
  }
  execFileSync('git', ['clone', '-q', '--local', '--no-checkout', cache, dir], { env: GIT_ENV });
  return dir;
}
