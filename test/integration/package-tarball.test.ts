/**
 * The npm package as a user gets it: `npm pack` (prepack builds dist/), `npm install -g` of the
 * tarball into a temporary prefix, then the installed `cpl` (plain node, dist/) in a temporary git
 * repository: `cpl up` serves the UI and registers the repository, a job with the fake Claude CLI
 * reaches review, its diff comes from the installed pool tasks, and `cpl run`, `cpl doctor`,
 * `cpl status`, `cpl version` and `cpl down` work.
 *
 * The install NEEDS THE NPM REGISTRY (or a warm npm cache): the tarball's dependencies are
 * downloaded like a user's, and the native modules are built as usual (`npm_config_nodedir=/usr`
 * where Node came from Debian packages, as .ci/run sets). It is the slowest test (a few minutes,
 * most of it compiling better-sqlite3 and node-pty).
 *
 * The package is packed from a copy of the working tree (its node_modules linked), so the build
 * never touches this checkout's dist/ while other tests serve it.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Job, Repo } from '../../api/contract.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';
import { api, FAKE_CLAUDE, ROOT } from '../helpers/server-process.ts';

const run = promisify(execFile);
const MINUTE = 60_000;
const DEV_TOOLING = ['tsx', 'typescript', 'esbuild', 'vite', '@types/node'];
/** Packages the server and worker import: a repository's own copies must never be what they load. */
const TRAPPED = ['koa', 'kysely', 'better-sqlite3', 'pino', 'piscina', 'ws', 'xstate', 'node-pty', '@anthropic-ai/claude-agent-sdk', 'tsx'];

/**
 * Booby-trapped copies of the packages CodePlane imports, committed in the repository `cpl up`
 * runs in (so job worktrees have them too): loading any of them writes a marker into `marks`.
 */
function plantTraps(repo: string, marks: string): void {
  for (const name of TRAPPED) {
    const dir = join(repo, 'node_modules', name);
    mkdirSync(dir, { recursive: true });
    const mark = JSON.stringify(join(marks, name.replace('/', '+')));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '99.0.0', main: 'index.js', exports: { '.': { import: './index.mjs', default: './index.js' } } }));
    writeFileSync(join(dir, 'index.js'), `require('node:fs').writeFileSync(${mark}, __filename);\nmodule.exports = {};\n`);
    writeFileSync(join(dir, 'index.mjs'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${mark}, import.meta.url);\nexport default {};\n`);
  }
  git(repo, 'add', '-f', 'node_modules');
  git(repo, 'commit', '-q', '-m', 'node_modules that must never be loaded');
}

/** Files git would commit (tracked or new, not ignored), as they are in the working tree. */
function copyWorkingTree(to: string): void {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\0')
    .filter(Boolean);
  for (const rel of listed) {
    const from = join(ROOT, rel);
    if (!existsSync(from) || lstatSync(from).isDirectory()) continue; // deleted, or a submodule
    mkdirSync(dirname(join(to, rel)), { recursive: true });
    copyFileSync(from, join(to, rel));
  }
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(to, 'node_modules'));
}

/** Every path under `dir` (relative), not following symlinks; `skip` prunes directories by name. */
function walk(dir: string, skip: (name: string) => boolean = () => false, out: string[] = [], base = dir): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(relative(base, p));
    if (e.isDirectory() && !skip(e.name)) walk(p, skip, out, base);
  }
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Thrown by a probe to end the wait at once (a failed job, an exited server); anything else thrown is retried. */
class Stop extends Error {}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>, explain: () => string = () => ''): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await probe().catch((e: unknown) => {
      if (e instanceof Stop) throw e;
      return undefined;
    });
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${explain()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('package tarball: npm pack, npm install -g from the registry, the installed cpl (needs the npm registry or a warm cache)', { timeout: 30 * MINUTE }, () => {
  const work = mkdtempSync(join(tmpdir(), 'cpl-package-'));
  const prefix = join(work, 'prefix');
  const home = join(work, 'home');
  const marks = join(work, 'trap-marks');
  const pkgDir = join(prefix, 'lib', 'node_modules', 'codeplane');
  const cplBin = join(prefix, 'bin', 'cpl');
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  let repo: string;
  let server: ChildProcess | undefined;
  let serverOut = '';
  let url = '';
  const timings: Record<string, number> = {};
  /** What the installed CLI runs with: nothing from this checkout (no NODE_OPTIONS, no tsx, a PATH with node and git). */
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: home,
    CODEPLANE_HOME: home,
    CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE,
    LANG: 'C.UTF-8',
  };
  const cpl = (args: string[], ms = 2 * MINUTE) => run(cplBin, args, { cwd: repo, env, timeout: ms, maxBuffer: 16 * 1024 * 1024 });

  before(async () => {
    mkdirSync(home, { recursive: true });
    repo = makeRepo('cpl-package-repo-');
    mkdirSync(marks);
    plantTraps(repo, marks);
    const src = join(work, 'src');
    copyWorkingTree(src);
    let t = performance.now();
    // prepack runs `npm run build` (esbuild + vite) in the copy.
    await run('npm', ['pack', '--pack-destination', work, '--loglevel', 'warn'], { cwd: src, env: { ...process.env, npm_config_update_notifier: 'false' }, timeout: 5 * MINUTE, maxBuffer: 64 * 1024 * 1024 });
    timings['pack'] = performance.now() - t;
    const tarball = join(work, `codeplane-${version}.tgz`);
    assert.ok(existsSync(tarball), `npm pack wrote no ${tarball}`);
    t = performance.now();
    const installEnv: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false' };
    if (!installEnv['npm_config_nodedir'] && existsSync('/usr/include/node/node.h')) installEnv['npm_config_nodedir'] = '/usr';
    await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'warn', tarball], { cwd: work, env: installEnv, timeout: 20 * MINUTE, maxBuffer: 64 * 1024 * 1024 });
    timings['install'] = performance.now() - t;
  });

  after(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    }
    // Job workers are detached: stop any left under this home.
    await run('pkill', ['-f', `[-]-home ${home}`]).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
    process.stdout.write(`package tarball timings: ${Object.entries(timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')}\n`);
  });

  it('installs only what runs: dist/ JavaScript, the UI, docs, licence; no TypeScript and no dev tooling', () => {
    assert.ok(existsSync(cplBin), 'the install made no bin/cpl');
    assert.equal(realpathSync(cplBin), join(realpathSync(pkgDir), 'dist', 'cpl.js'));
    const own = walk(pkgDir, (name) => name === 'node_modules').filter((p) => !p.startsWith('node_modules'));
    const ts = own.filter((p) => /\.(ts|tsx|mts|cts)$/.test(p));
    assert.deepEqual(ts, [], 'the package holds TypeScript sources');
    for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/cpl.js', 'dist/worker.js', 'dist/diff-task.js', 'dist/git-task.js', 'dist/ui/index.html', 'docs/api.md'])
      assert.ok(own.includes(f), `the package lacks ${f}`);
    const tops = new Set(own.map((p) => p.split('/')[0]));
    assert.deepEqual([...tops].sort(), ['LICENSE', 'README.md', 'dist', 'docs', 'package.json'], `unexpected files in the package: ${[...tops].join(', ')}`);
    assert.ok(!own.some((p) => p.startsWith('dist/worker/')), 'the development worker bundles were packed');
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(manifest['private'], undefined);
    assert.equal(manifest['license'], 'MIT');
    assert.match(readFileSync(join(pkgDir, 'LICENSE'), 'utf8'), /^MIT License[\s\S]*CodePlane contributors/);
    for (const name of DEV_TOOLING) assert.ok(!(name in ((manifest['dependencies'] ?? {}) as object)), `${name} is a run-time dependency`);
    // Nowhere in the installed tree, hoisted or nested.
    const modules = walk(prefix, (name) => name.startsWith('.'))
      .filter((p) => DEV_TOOLING.some((d) => p.endsWith(`node_modules/${d}`)));
    assert.deepEqual(modules, [], 'dev tooling was installed with the package');
    // The native modules were built for this node.
    assert.ok(existsSync(join(pkgDir, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node')), 'better-sqlite3 was not built');
  });

  it('cpl version prints the package version', async () => {
    const { stdout } = await cpl(['version']);
    assert.equal(stdout.trim(), version);
  });

  it('cpl up in a git repository serves the UI and registers the repository; a job reaches review and its diff', async () => {
    const port = await freePort();
    const t = performance.now();
    server = spawn(cplBin, ['up', '--port', String(port)], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.setEncoding('utf8').on('data', (c: string) => (serverOut += c));
    server.stderr!.setEncoding('utf8').on('data', (c: string) => (serverOut += c));
    url = `http://127.0.0.1:${port}`;
    const health = await until('the installed server to answer /api/health', MINUTE, async () => {
      if (server!.exitCode !== null) throw new Stop(`cpl up exited ${server!.exitCode}: ${serverOut}`);
      const r = await api<{ status: string; version: string }>(url, 'GET', '/api/health');
      return r.status === 200 ? r.body : undefined;
    }, () => serverOut);
    timings['up → health'] = performance.now() - t;
    assert.equal(health.version, version);
    assert.match(serverOut, new RegExp(`CodePlane ${version.replace(/\./g, '\\.')} listening on ${url}`));

    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<script[^>]+src="\/assets\/index-[^"]+\.js"/, 'the built UI is not what / serves');
    const asset = /src="(\/assets\/index-[^"]+\.js)"/.exec(html)![1]!;
    assert.equal((await fetch(`${url}${asset}`)).status, 200);

    const repos = (await api<Repo[]>(url, 'GET', '/api/repos')).body;
    assert.deepEqual(repos.map((r) => realpathSync(r.path)), [realpathSync(repo)]);

    const created = await api<Job>(url, 'POST', '/api/jobs', { repo, agent: 'claude', permissionMode: 'full_auto', prompt: 'Add a greeting [[write hello.txt hi from the package]]' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const jobId = created.body.id;
    // The worker is the installed dist/worker.js, run by plain node.
    const cmdline = await until('the job worker process', MINUTE, async () => {
      const { stdout } = await run('pgrep', ['-af', `[-]-job ${jobId}`]);
      return stdout.split('\n').find((l) => l.includes(`--job ${jobId}`) && !l.includes('pgrep'));
    }, () => serverOut);
    assert.ok(cmdline.includes(join(realpathSync(pkgDir), 'dist', 'worker.js')) || cmdline.includes(join(pkgDir, 'dist', 'worker.js')), cmdline);
    assert.ok(!/tsx|\.ts\b/.test(cmdline), cmdline);
    const job = await until('the job to reach review', 2 * MINUTE, async () => {
      const j = (await api<Job>(url, 'GET', `/api/jobs/${jobId}`)).body;
      if (j.state === 'failed') throw new Stop(`the job failed: ${j.failureReason ?? ''}\n${serverOut}`);
      return j.state === 'review' ? j : undefined;
    }, () => serverOut);
    assert.ok(existsSync(join(job.worktreePath, 'hello.txt')));
    // The diff is computed on a pool thread from the installed dist/diff-task.js.
    const diff = await api<{ files: { path: string; additions: number }[] }>(url, 'GET', `/api/jobs/${jobId}/diff`);
    assert.equal(diff.status, 200, JSON.stringify(diff.body));
    assert.deepEqual(diff.body.files.map((f) => [f.path, f.additions]), [['hello.txt', 1]]);
  });

  it('cpl run, cpl status and cpl doctor work from the installed package', async () => {
    assert.ok(url, 'the server test did not start the server');
    const r = await cpl(['run', '--repo', repo, '--agent', 'claude', '--mode', 'full_auto', 'Write it down [[write notes.txt from cpl run]]']);
    assert.match(r.stdout, /job j\w+ created/);
    assert.match(r.stdout, /→ review/);
    const status = await cpl(['status']);
    assert.match(status.stdout, /review/);
    const doctor = await cpl(['doctor', '--json', '--port', new URL(url).port]);
    const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: { id: string; ok: boolean; detail: string }[] };
    assert.equal(report.ok, true, doctor.stdout);
    const sqlite = report.checks.find((c) => c.id === 'sqlite');
    assert.equal(sqlite?.ok, true, JSON.stringify(sqlite));
  });

  it('cpl down stops the installed server', async () => {
    assert.ok(server, 'the server test did not start the server');
    const exited = new Promise<number | null>((r) => server!.once('exit', (code) => r(code)));
    await cpl(['down']);
    assert.equal(await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), MINUTE))]), 0);
    // The repository itself was never touched: only the job's branches were added.
    assert.equal(git(repo, 'status', '--porcelain'), '');
    // Nothing was loaded from the repository's (or a worktree's) node_modules, by the server, a worker or a pool thread.
    assert.deepEqual(readdirSync(marks), []);
  });
});
