/**
 * `cpl`: the command line. `cpl up` runs the server in the foreground.
 * Expected failures print one clear line and exit non-zero, never a stack trace.
 */
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { VERSION } from '../version.ts';
import { pathsFor, resolveHome } from '../paths.ts';
import { terminalSafe } from '../terminal/terminal-text.ts';
import { remoteBanner } from './cli-remote.ts';
import { relaunch } from './server-relaunch.ts';

const USAGE = `usage: cpl <command>

  up [--host H] [--port P] [--remote] [--password P]
                             start the server in the foreground (default 127.0.0.1:8080);
                             --remote opens a public tunnel (cloudflared/devtunnel); exposure needs a password
  down                       stop the running server (jobs are checkpointed and resume on the next up)
  restart                    restart the server with the settings it was started with; running jobs keep running
  status                     is the server up? jobs by state
  doctor [--json] [--port P] check the environment, with a fix hint for each problem
  run --repo PATH --agent claude|copilot [--model M] [--mode MODE] "prompt"
                             run a job on the running server and follow it here (answer approvals with y/n [note])
  password set|clear         set (from the terminal or stdin) or remove the login password
  token create [--name N]|list|revoke ID
                             API tokens for scripts (Authorization: Bearer …), shown once
  version                    print the version`;

function fail(message: string, code = 1): never {
  process.stderr.write(`cpl: ${terminalSafe(message, { multiline: true })}\n`);
  process.exit(code);
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 8080;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) fail(`invalid port "${raw}": expected 0-65535`, 2);
  return Number(raw);
}

async function up(argv: string[]): Promise<void> {
  let values: { host?: string | undefined; port?: string | undefined; remote?: boolean | undefined; password?: string | undefined };
  try {
    ({ values } = parseArgs({ args: argv, options: { host: { type: 'string' }, port: { type: 'string' }, remote: { type: 'boolean' }, password: { type: 'string' } }, strict: true }));
  } catch (e) {
    fail(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`, 2);
  }
  const host = values.host ?? process.env['CPL_HOST'] ?? '127.0.0.1';
  const port = parsePort(values.port ?? process.env['CPL_PORT']);
  // Loaded here, not at the top: the other commands (version, status, run, doctor…) never need
  // the server's modules, and loading them all was most of a short command's run time.
  const { startServer, StartupError } = await import('../server.ts');
  try {
    const envPassword = process.env['CPL_PASSWORD'] || undefined;
    const password = values.password ?? envPassword;
    const home = resolve(resolveHome());
    const server = await startServer({ home, host, port, registerCwd: process.cwd(), remote: values.remote ?? false, ...(password !== undefined ? { password } : {}) });
    // Started inside a repository, the server must not live in it: once the user deletes that
    // repository, starting a diff thread (which reads the process's cwd) threw ENOENT out of piscina
    // and took the server down. Its own home outlives every repository.
    process.chdir(home);
    process.stdout.write(`CodePlane ${VERSION} listening on ${server.url}\n`);
    if (server.tunnelUrl) process.stdout.write(`${remoteBanner(server.tunnelUrl, values.password !== undefined ? 'flag' : envPassword !== undefined ? 'env' : 'stored')}\n`);
    let stopping = false;
    const stop = (mode: 'checkpoint' | 'detach') => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(mode === 'detach' ? 'restarting: leaving jobs running…\n' : 'stopping: checkpointing jobs…\n');
      void server.close(mode).then(() => (mode === 'detach' ? relaunch(server.port) : process.exit(0)));
    };
    process.on('SIGINT', () => stop('checkpoint'));
    process.on('SIGTERM', () => stop('checkpoint'));
    // `cpl restart` asks for a stop that leaves the job workers running, to be re-attached.
    process.on('SIGHUP', () => stop('detach'));
  } catch (e) {
    if (e instanceof StartupError) fail(e.message);
    throw e;
  }
}

function serverInfo(): { pid: number; url: string; host?: string; port?: number; remote?: boolean } | undefined {
  try {
    const v = JSON.parse(readFileSync(pathsFor(resolveHome()).serverInfo, 'utf8')) as { pid?: unknown; url?: unknown; host?: unknown; port?: unknown; remote?: unknown };
    if (typeof v.pid !== 'number' || typeof v.url !== 'string') return undefined;
    return { pid: v.pid, url: v.url, ...(typeof v.host === 'string' ? { host: v.host } : {}), ...(typeof v.port === 'number' ? { port: v.port } : {}), ...(v.remote === true ? { remote: true } : {}) };
  } catch {
    return undefined;
  }
}

function down(): void {
  const info = serverInfo();
  if (!info) fail('no server is running');
  try {
    process.kill(info.pid, 'SIGTERM');
    process.stdout.write(`asked the server (pid ${info.pid}) to stop\n`);
  } catch {
    fail(`the server recorded as pid ${info.pid} is not running`);
  }
}

/**
 * Asks the running server to restart: it stops without stopping its jobs and starts its successor
 * itself, with its own flags and environment (server-relaunch.ts). Waits for the successor to answer.
 */
async function restart(argv: string[]): Promise<void> {
  if (argv.length > 0) fail('cpl restart takes no options: it restarts with the settings the server was started with (to change them: cpl down, then cpl up with the new ones)', 2);
  const info = serverInfo();
  if (!info) fail('no server is running');
  try {
    process.kill(info.pid, 'SIGHUP');
  } catch {
    fail(`the server recorded as pid ${info.pid} is not running`);
  }
  const deadline = performance.now() + 60_000;
  for (;;) {
    const next = serverInfo();
    if (next && next.pid !== info.pid && (await fetch(`${next.url}/api/health`).then((r) => r.ok, () => false))) {
      process.stdout.write(`restarted: CodePlane listening on ${next.url} (pid ${next.pid})\n`);
      return;
    }
    if (performance.now() > deadline) fail(`the server (pid ${info.pid}) did not come back within 60 s; see ${pathsFor(resolveHome()).home}/logs`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The commands that live in their own modules; a usage or startup problem prints one line. */
async function subcommand(command: 'password' | 'token' | 'doctor' | 'run' | 'status', argv: string[]): Promise<void> {
  try {
    if (command === 'password') await (await import('./cli-auth.ts')).passwordCommand(argv);
    else if (command === 'token') await (await import('./cli-auth.ts')).tokenCommand(argv);
    else if (command === 'status') await (await import('./cli-status.ts')).statusCommand();
    else if (command === 'doctor') process.exitCode = await (await import('./doctor.ts')).doctorCommand(argv);
    else process.exit(await (await import('./cli-run.ts')).runCommand(argv)); // stdin may still be open
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    if (e.name === 'CliUsageError' || ('code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))) fail(e.message, 2);
    if (e.name === 'StorageError' || e.name === 'HomeError') fail(e.message);
    throw e;
  }
}

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case 'up':
    await up(rest);
    break;
  case 'down':
    down();
    break;
  case 'restart':
    await restart(rest);
    break;
  case 'status':
  case 'password':
  case 'token':
  case 'doctor':
  case 'run':
    await subcommand(command, rest);
    break;
  case 'version':
  case '--version':
    process.stdout.write(`${VERSION}\n`);
    break;
  case undefined:
  case 'help':
  case '--help':
    process.stdout.write(`${USAGE}\n`);
    break;
  default:
    fail(`unknown command "${command}"\n${USAGE}`, 2);
}
