/**
 * `cpl doctor [--json] [--port P]`: is this machine ready to run CodePlane?
 * Each check says what it found and, when something is wrong, how to fix it.
 * Exit code 1 when a required check fails; optional ones only warn.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { agentStatuses } from '../agents/agent-status.ts';
import { loadConfig } from '../config.ts';
import { LATEST_VERSION } from '../db/migrations/index.ts';
import { pathsFor, quarantineDirFor, resolveHome, type Paths } from '../paths.ts';
import { idFileFor, missingDatabase, readIdFile } from '../db/identity.ts';
import { listQuarantine } from '../git/quarantine.ts';
import { terminalSafe } from '../terminal/terminal-text.ts';
import { findOnPath } from '../remote/tunnel.ts';
import { runGit } from '../git/git-exec.ts';
import { probeSandbox } from '../sandbox/sandbox-probe.ts';

export interface Check {
  id: string;
  name: string;
  ok: boolean;
  required: boolean;
  detail: string;
  hint?: string;
}

const check = (id: string, name: string, required: boolean, ok: boolean, detail: string, hint?: string): Check => ({ id, name, ok, required, detail, ...(ok || !hint ? {} : { hint }) });

function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => resolve({ ok: !err, out: `${stdout}${stderr}`.trim() }));
  });
}

function nodeCheck(): Check {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const ok = major > 20 || (major === 20 && minor >= 19);
  return check('node', 'Node.js', true, ok, `Node ${process.versions.node}`, 'install Node.js 20.19 or newer');
}

/**
 * git 2.38 or newer: merges are computed with `merge-tree --write-tree` (2.38), and the server's
 * hardening (docs/security.md "Server-side git") relies on `core.fsmonitor=false` (2.36).
 */
export const MIN_GIT: readonly [number, number] = [2, 38];

/** `git version 2.39.5` (also `2.39.5.windows.1`, `2.37.1 (Apple Git-137)`) → whether it is new enough. */
export function gitVersionOk(out: string): boolean {
  const m = /git version (\d+)\.(\d+)/.exec(out);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > MIN_GIT[0] || (major === MIN_GIT[0] && minor >= MIN_GIT[1]);
}

async function gitCheck(): Promise<Check> {
  const r = await runGit(tmpdir(), ['--version'], { timeoutMs: 10_000 }).then(
    (g) => ({ ok: true, out: g.stdout.trim() }),
    () => ({ ok: false, out: '' }),
  );
  const min = `git ${MIN_GIT.join('.')} or newer`;
  if (!r.ok) return check('git', 'git', true, false, 'git not found on PATH', `install ${min} (e.g. apt-get install git / brew install git)`);
  const ok = gitVersionOk(r.out);
  return check('git', 'git', true, ok, ok ? r.out : `${r.out}: CodePlane needs ${min}`, `install ${min} (e.g. apt-get install git / brew install git)`);
}

function dataDirCheck(paths: Paths): Check {
  let dir = paths.home;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
    accessSync(dir, constants.W_OK);
    return check('dataDir', 'data directory', true, true, dir === paths.home ? `${paths.home} is writable` : `${paths.home} will be created (in ${dir})`);
  } catch (e) {
    return check('dataDir', 'data directory', true, false, `${paths.home}: ${e instanceof Error ? e.message : String(e)}`, 'make it writable, or set CODEPLANE_HOME to a directory you own');
  }
}

async function portCheck(paths: Paths, host: string, port: number): Promise<Check> {
  const free = await new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
  if (free) return check('port', 'listen port', true, true, `${host}:${port} is free`);
  try {
    const info = JSON.parse(readFileSync(paths.serverInfo, 'utf8')) as { pid?: number; port?: number };
    if (info.port === port && info.pid !== undefined && process.kill(info.pid, 0)) return check('port', 'listen port', true, true, `${host}:${port} is used by the running CodePlane (pid ${info.pid})`);
  } catch {
    /* not ours */
  }
  return check('port', 'listen port', true, false, `${host}:${port} is in use by another program`, 'stop it, or pick another port with --port P or CPL_PORT');
}

function sqliteCheck(paths: Paths): Check {
  try {
    const missing = missingDatabase(paths.db);
    if (missing) return check('sqlite', 'SQLite', true, false, missing.reason, `restore ${paths.db} from a backup (or a ${paths.db}.rescued-* copy), or delete ${idFileFor(paths.db)} to start with an empty database`);
    if (!existsSync(paths.db)) {
      new BetterSqlite3(':memory:').close();
      return check('sqlite', 'SQLite', true, true, 'the database will be created on first start');
    }
    const db = new BetterSqlite3(paths.db, { readonly: true, fileMustExist: true });
    try {
      const version = Number(db.pragma('user_version', { simple: true }));
      const problems = (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).filter((m) => m !== 'ok');
      if (problems.length) return check('sqlite', 'SQLite', true, false, `${paths.db} is damaged: ${problems.slice(0, 2).join('; ')}`, 'restore it from a backup, or move it aside to start afresh');
      if (version > LATEST_VERSION) return check('sqlite', 'SQLite', true, false, `${paths.db} has schema v${version}, newer than this CodePlane (v${LATEST_VERSION})`, 'upgrade CodePlane');
      const recorded = readIdFile(paths.db);
      const id = version >= 4 ? (db.prepare('SELECT db_id FROM storage_identity WHERE one = 1').pluck().get() as string | undefined) : undefined;
      if (id !== undefined && recorded !== undefined && recorded !== id)
        return check('sqlite', 'SQLite', true, false, `${paths.db} (id ${id}) is not the database ${idFileFor(paths.db)} names (${recorded})`, `put the right database back, or, if this one is right, delete ${idFileFor(paths.db)}`);
      return check('sqlite', 'SQLite', true, true, `${paths.db} (schema v${version}) is OK`);
    } finally {
      db.close();
    }
  } catch (e) {
    return check('sqlite', 'SQLite', true, false, `cannot open the database: ${e instanceof Error ? e.message : String(e)}`, 'rebuild better-sqlite3 (npm rebuild better-sqlite3), or move a damaged codeplane.db aside');
  }
}

/** Worktrees start-up hygiene could not account for: kept in the quarantine until the user decides. */
export function quarantineCheck(paths: Paths): Check {
  const entries = listQuarantine(quarantineDirFor(paths.home));
  if (entries.length === 0) return check('quarantine', 'quarantined worktrees', false, true, 'none');
  const lines = entries.map((e) =>
    e.record
      ? `${e.record.to} (was ${e.record.from}${e.record.branch ? `, branch ${e.record.branch}` : ''}, repository ${e.record.repo}, ${e.record.quarantinedAt})`
      : `${e.dir} (no quarantine.json)`,
  );
  return check(
    'quarantine',
    'quarantined worktrees',
    false,
    false,
    `${entries.length} worktree(s) no job owned were moved aside at start-up, not deleted:\n      ${lines.join('\n      ')}`,
    `each holds the files as the agent left them (uncommitted changes included): cd into it and commit on its branch, or copy what you need; ` +
      `then delete the entry's directory and run \`git -C <repository> worktree prune\`. Each entry's quarantine.json says where it came from.`,
  );
}

async function agentChecks(paths: Paths): Promise<Check[]> {
  let agentPaths = {};
  try {
    if (existsSync(paths.config)) agentPaths = { claude: loadConfig(paths.config).config.agents.claude.path, copilot: loadConfig(paths.config).config.agents.copilot.path };
  } catch (e) {
    return [check('config', 'config.json', true, false, e instanceof Error ? e.message : String(e), 'fix config.json or delete it to get the defaults')];
  }
  const agents = await agentStatuses({ agentPaths, timeoutMs: 15_000 });
  const checks = agents.map((a) => {
    const auth = a.authenticated === true ? 'signed in' : a.authenticated === false ? 'NOT signed in' : 'sign-in unknown';
    const detail = a.available ? `${a.version ?? 'version unknown'} at ${a.path ?? '?'}; ${auth}` : (a.hint ?? 'not available');
    return check(`agent:${a.id}`, a.name, false, a.available && a.authenticated !== false, detail, a.hint ?? 'set CODEPLANE_' + a.id.toUpperCase() + '_PATH to the CLI');
  });
  const any = agents.some((a) => a.available);
  checks.push(check('agents', 'at least one agent', true, any, any ? agents.filter((a) => a.available).map((a) => a.id).join(', ') : 'no agent CLI runs here', 'reinstall with optional dependencies (npm install), or set CODEPLANE_CLAUDE_PATH / CODEPLANE_COPILOT_PATH'));
  return checks;
}

/**
 * The agent sandbox. Required while config `sandbox` is "on" (jobs are refused without it);
 * turned off, it is reported as a warning: agents then run with the user's full rights.
 */
async function sandboxCheck(paths: Paths): Promise<Check> {
  let setting: 'on' | 'off' = 'on';
  let bwrapPath: string | undefined;
  try {
    if (existsSync(paths.config)) ({ sandbox: setting, bwrapPath } = loadConfig(paths.config).config);
  } catch {
    /* the agents check reports a broken config.json */
  }
  if (setting === 'off') return check('sandbox', 'agent sandbox', false, false, 'turned off ("sandbox": "off" in config.json): agents and what they run have your full rights', 'remove "sandbox": "off" from config.json (needs bubblewrap on Linux)');
  const p = await probeSandbox(bwrapPath !== undefined ? { bwrapPath } : {});
  return p.ok ? check('sandbox', 'agent sandbox', true, true, p.detail) : check('sandbox', 'agent sandbox', true, false, `${p.reason}: jobs are refused (SANDBOX_UNAVAILABLE)`, p.fix);
}

async function optionalTool(id: string, name: string, args: string[], hint: string): Promise<Check> {
  const path = findOnPath(id);
  if (!path) return check(id, name, false, false, 'not found on PATH', hint);
  const r = await run(path, args);
  return check(id, name, false, r.ok, r.ok ? (r.out.split('\n')[0] ?? '') : `${path} does not run: ${r.out.slice(0, 200)}`, hint);
}

export async function runChecks(opts: { host: string; port: number }): Promise<Check[]> {
  const paths = pathsFor(resolveHome());
  const [git, port, agents, sandbox, gh, cloudflared, devtunnel] = await Promise.all([
    gitCheck(),
    portCheck(paths, opts.host, opts.port),
    agentChecks(paths),
    sandboxCheck(paths),
    optionalTool('gh', 'GitHub CLI (for pull requests)', ['--version'], 'install gh (https://cli.github.com) and run `gh auth login` to create pull requests'),
    optionalTool('cloudflared', 'cloudflared (for --remote)', ['--version'], 'optional: install cloudflared to use `cpl up --remote`'),
    optionalTool('devtunnel', 'devtunnel (for --remote)', ['--version'], 'optional: install devtunnel (and `devtunnel user login`) as an alternative to cloudflared'),
  ]);
  return [nodeCheck(), git, dataDirCheck(paths), port, sqliteCheck(paths), quarantineCheck(paths), ...agents, sandbox, gh, cloudflared, devtunnel];
}

export async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, port: { type: 'string' }, host: { type: 'string' } }, strict: true });
  const rawPort = values.port ?? process.env['CPL_PORT'] ?? '8080';
  if (!/^\d{1,5}$/.test(rawPort) || Number(rawPort) > 65535) throw Object.assign(new Error(`invalid port "${rawPort}"`), { name: 'CliUsageError' });
  const checks = await runChecks({ host: values.host ?? process.env['CPL_HOST'] ?? '127.0.0.1', port: Number(rawPort) });
  const failed = checks.some((c) => c.required && !c.ok);
  if (values.json) process.stdout.write(`${JSON.stringify({ ok: !failed, checks }, null, 2)}\n`);
  else {
    for (const c of checks) {
      const mark = c.ok ? '✓' : c.required ? '✗' : '!';
      process.stdout.write(`${mark} ${c.name}: ${terminalSafe(c.detail)}${c.hint ? `\n    fix: ${terminalSafe(c.hint)}` : ''}\n`); // details quote agent CLIs' own output
    }
    process.stdout.write(failed ? '\nSome required checks failed.\n' : '\nReady.\n');
  }
  return failed ? 1 : 0;
}
