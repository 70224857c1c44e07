import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from '../api/app.ts';
import { LoginLimiter } from '../api/login-limiter.ts';
import { ConfigError, loadConfig } from './config.ts';
import { StorageError, type Db } from './db/database.ts';
import { EventHub } from './events/event-hub.ts';
import { EventLog } from './events/event-log.ts';
import { HomeError, prepareHome } from './home.ts';
import { JobSupervisor } from './jobs/job-supervisor.ts';
import { WorkspaceWatch } from './jobs/workspace-watch.ts';
import { consoleLine, openRootLog } from './log.ts';
import { createRedactor, secretValuesFrom } from '../machines/redact.ts';
import { StorageState, isStorageUnavailable, type StorageView } from './storage/storage-state.ts';
import { openStorage } from './storage/storage-open.ts';
import { StorageWatch } from './storage/storage-watch.ts';
import { terminalSafe } from './terminal/terminal-text.ts';
import { pathsFor } from './paths.ts';
import { createPorts } from './ports-impl.ts';
import { DiffPool } from './git/diff-pool.ts';
import { RemoteAccessError, setupRemoteAccess } from './remote/remote-access.ts';
import { DiskUsageTracker } from './review/disk-usage-tracker.ts';
import { workerLaunchArgs } from './workers/worker-bundle.ts';
import { INSTALL } from './install-paths.ts';
import { workerEnvFor } from './workers/worker-env.ts';
import { SandboxGate } from './sandbox/sandbox-gate.ts';
import { findBwrap, probeSandbox } from './sandbox/sandbox-probe.ts';
import { ReviewService } from './review/review-service.ts';
import { reconcileAllWorktrees } from './startup-hygiene.ts';
import { startOtelExport } from './telemetry/otel-export.ts';
import { TerminalService } from './terminal/terminal-service.ts';

export class StartupError extends Error {
  override name = 'StartupError';
}

export interface ServerOptions {
  home: string;
  host: string;
  port: number;
  /** A directory to register as a repository when it is a git working tree (where `cpl up` ran). */
  registerCwd?: string;
  heartbeatMs?: number;
  /** Print a readable line per job event (defaults to: stdout is a TTY). */
  consoleEvents?: boolean;
  /** Open a public tunnel (cloudflared or devtunnel); requires authentication. */
  remote?: boolean;
  /** A login password for this run only (`--password`, CPL_PASSWORD); never stored. */
  password?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  /** The public tunnel URL with `remote`. */
  tunnelUrl?: string;
  /** `checkpoint`: jobs stop and resume on the next start; `detach`: workers keep running (cpl restart). */
  close(mode?: 'checkpoint' | 'detach'): Promise<void>;
}

/** Wires config, storage, the supervisor and the API, then listens. Expected failures become StartupError. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  let paths = pathsFor(opts.home);
  let db: Db | undefined;
  let server: Server | undefined;
  let remote: Awaited<ReturnType<typeof setupRemoteAccess>> | undefined;
  try {
    prepareHome(paths);
    const { config, unknownKeys } = loadConfig(paths.config);
    paths = pathsFor(opts.home, config.worktreesDir);
    // Secrets out of the server's own log lines and events, as the workers do with theirs (machines/redact.ts).
    const redactor = createRedactor(secretValuesFrom(process.env));
    const { log, file: logFile } = openRootLog(paths.logs, undefined, redactor);
    if (unknownKeys.length) log.warn({ unknownKeys }, `config.json has unknown keys: ${unknownKeys.join(', ')}`);
    const storage = new StorageState();
    storage.onChange((v) => announceStorage(v, log));
    const opened = openStorage(paths.db, storage, log);
    db = opened.db;
    if (!storage.writable()) announceStorage(storage.current(), log);
    const hub = new EventHub({ onListenerError: (err, e) => log.error({ err, eventId: e.id, jobId: e.jobId }, 'an event listener failed') });
    const otel = await startOtelExport(hub, log); // undefined unless OTEL_EXPORTER_OTLP_ENDPOINT (or a per-signal one) is set
    let resync = (_jobId: string): void => undefined;
    const eventLog = new EventLog(db, hub, (jobId, err) => {
      // Read-only storage: the worker keeps the events; the storage watch's recovery asks for them (below).
      if (isStorageUnavailable(err)) return;
      log.error({ jobId, err }, "could not store a worker's events; they stay in its outbox and it is asked to re-send them");
      resync(jobId);
    }, redactor);
    // An allow-list (machines/agent-env.ts): CPL_PASSWORD and the rest of the server's secrets stay here.
    const workerEnv = workerEnvFor(process.env, config, paths.home);
    // The sandbox: config decides (an inherited CODEPLANE_SANDBOX does not turn it off behind the config's back).
    workerEnv['CODEPLANE_SANDBOX'] = config.sandbox;
    workerEnv['CODEPLANE_WORKTREES_DIR'] = paths.worktrees;
    // The configured binary even while it is missing: installing it is picked up without a restart (the gate probes again).
    const bwrap = findBwrap(config.bwrapPath) ?? config.bwrapPath;
    if (bwrap) workerEnv['CODEPLANE_BWRAP'] = bwrap;
    else delete workerEnv['CODEPLANE_BWRAP'];
    const sandbox = new SandboxGate(config.sandbox, () => probeSandbox(config.bwrapPath !== undefined ? { bwrapPath: config.bwrapPath } : {}));
    if (config.sandbox === 'off') log.warn('config "sandbox": "off": agents run WITHOUT the operating-system sandbox');
    else await sandbox.require().catch((e: unknown) => log.warn(`${e instanceof Error ? e.message : String(e)} (jobs are refused until it is fixed)`));
    const workerArgs = await workerLaunchArgs(log);
    const supervisor = new JobSupervisor({ db, eventLog, paths, limits: config, log, workerEnv, workerArgs, setupCommands: config.setupCommands, workerNice: config.workerNice });
    resync = (jobId) => supervisor.resync(jobId);
    storage.onChange((v) => {
      if (v.state === 'ok') supervisor.storageRecovered();
    });
    const watch = new StorageWatch({
      db,
      ...(opened.file ? { file: opened.file } : {}),
      intervalMs: positiveEnvInt('CPL_STORAGE_CHECK_MS') ?? 2000,
      minFreeBytes: positiveEnvInt('CPL_STORAGE_MIN_FREE_BYTES') ?? 1024 * 1024,
      onIdentityProblem: (_finding, rescue) =>
        void rescue.then((copy) => {
          if (copy) loud(log, { copy }, `a copy of the database as this server still held it was saved to ${copy}; stop CodePlane and move it to ${paths.db} to keep it`);
        }),
    });
    watch.start();
    const pool = new DiffPool({ onError: (err) => log.error({ err }, 'a diff thread failed outside a task') });
    const diskUsage = new DiskUsageTracker();
    const review = new ReviewService({ db, hub, pool, supervisor, worktreesRoot: paths.worktrees, cleanupResolved: config.cleanupResolvedWorktrees, log, diskUsage });
    remote = await setupRemoteAccess({ host: opts.host, remote: opts.remote ?? false, config, paths, db, hub, log, lastEventId: () => eventLog.lastEventId(), ...(opts.password !== undefined ? { password: opts.password } : {}) });
    const ports = createPorts({ db, eventLog, hub, supervisor, review, diskUsage, paths, sandbox, startedAt: performance.now(), auth: remote.auth, shares: remote.shares, push: remote.push, logLinesDropped: () => logFile.dropped });
    // The directory `cpl up` runs in first, so hygiene covers it too (after a lost database it is the one that matters).
    if (opts.registerCwd) await ports.registerIfRepo(opts.registerCwd);
    // Without the user's database nothing can tell which worktrees are theirs: touch none (they stay listed in the log).
    if (storage.current().state !== 'identity_problem') await reconcileAllWorktrees(db, paths.worktrees, paths.home, log);
    else log.warn('start-up worktree hygiene skipped: the database is not the one CodePlane recorded');
    if (opts.consoleEvents ?? process.stdout.isTTY) hub.subscribe({}, (e) => {
      const line = consoleLine(e);
      if (line) process.stdout.write(`${line}\n`);
    });

    const heartbeatMs = opts.heartbeatMs ?? positiveEnvInt('CPL_SSE_HEARTBEAT_MS');
    const sseMaxBufferedBytes = positiveEnvInt('CPL_SSE_MAX_BUFFER_BYTES');
    const sseSlowClientMs = positiveEnvInt('CPL_SSE_SLOW_CLIENT_MS');
    const sseReplayPageSize = positiveEnvInt('CPL_SSE_REPLAY_PAGE');
    const app = createApp(ports, {
      log,
      ...(heartbeatMs ? { heartbeatMs } : {}),
      ...(sseMaxBufferedBytes ? { sseMaxBufferedBytes } : {}),
      ...(sseSlowClientMs ? { sseSlowClientMs } : {}),
      ...(sseReplayPageSize ? { sseReplayPageSize } : {}),
      hosts: remote.hosts,
      clientKeys: remote.clientKeys,
      loginLimiter: new LoginLimiter({ globalPerMinute: config.loginAttemptsPerMinute }),
      uiDir: INSTALL.uiDir,
    });
    server = await listen(app.callback(), opts.host, opts.port);
    const port = (server.address() as AddressInfo).port;
    const terminals = new TerminalService({ db, hub, log });
    const { tunnelUrl } = await remote.attach(server, port, terminals);
    const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    const url = `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${port}`;
    try {
      writeFileSync(paths.serverInfo, JSON.stringify({ pid: process.pid, url, host: opts.host, port, ...(opts.remote ? { remote: true } : {}) }), { mode: 0o600 });
    } catch (e) {
      // A full disk: the server runs (read-only); `cpl status`/`cpl down` then cannot find it by this file.
      log.warn({ err: e, file: paths.serverInfo }, 'could not write the server info file');
    }
    log.info({ url }, 'server listening');
    try {
      await supervisor.recoverAtStartup();
    } catch (e) {
      // Read-only storage cannot record what it finds; the jobs are recovered when writes work (or at the next start).
      log.error({ err: e }, 'could not recover every job at start-up');
    }
    supervisor.tick();
    // Slots held by long approval waits free up with time, not with events: look again now and then.
    const ticker = setInterval(() => supervisor.tick(), 15_000);
    ticker.unref();
    // A job idle in review gives back its worker and agent CLI (config idleWorkerSeconds); a message revives them.
    const idleMs = positiveEnvInt('CODEPLANE_IDLE_WORKER_MS') ?? config.idleWorkerSeconds * 1000;
    const parkIdle = () => {
      try {
        const parked = supervisor.parkIdleWorkers(idleMs);
        if (parked.length) log.info({ jobIds: parked }, 'stopping the workers of jobs idle in review');
      } catch (e) {
        // A timer callback that throws would take the server down; the next sweep tries again.
        log.warn({ err: e }, 'could not look for idle workers');
      }
    };
    const parker = idleMs > 0 ? setInterval(parkIdle, Math.min(30_000, Math.max(250, idleMs / 4))) : undefined;
    parker?.unref();
    // A repository or worktree deleted under a job fails the job, naming it (workspace-watch.ts).
    const workspaces = new WorkspaceWatch({ db, log, lost: supervisor.workspaceLost });
    workspaces.start();

    let closing: Promise<void> | undefined;
    const theDb = db;
    const [theServer, theRemote] = [server, remote];
    return {
      url,
      port,
      ...(tunnelUrl ? { tunnelUrl } : {}),
      close: (mode = 'checkpoint') =>
        (closing ??= (async () => {
          clearInterval(ticker);
          clearInterval(parker);
          watch.stop();
          workspaces.stop();
          await terminals.close(); // closes the terminal WebSockets, which the HTTP server would otherwise wait for
          theServer.closeAllConnections();
          await new Promise<void>((r) => theServer.close(() => r()));
          await theRemote.close();
          await supervisor.close(mode);
          await otel?.shutdown();
          review.close();
          await pool.close();
          eventLog.flush(); // events received in the last turn, before the database goes
          theDb.close();
          rmSync(paths.serverInfo, { force: true });
          log.info('server stopped');
          log.flush();
          logFile.close();
        })()),
    };
  } catch (e) {
    server?.closeAllConnections();
    server?.close();
    await remote?.close().catch(() => undefined);
    db?.close();
    if (e instanceof RemoteAccessError) throw new StartupError(e.message);
    if (e instanceof HomeError || e instanceof ConfigError || e instanceof StorageError) throw new StartupError(e.message);
    if (e instanceof Error && 'code' in e && e.code === 'EADDRINUSE') throw new StartupError(`port ${opts.port} on ${opts.host} is already in use; pick another with --port or CPL_PORT`);
    if (e instanceof Error && 'code' in e && (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND')) throw new StartupError(`cannot listen on ${opts.host}: ${e.message}`);
    throw e;
  }
}

/**
 * Storage trouble is said loudly: the log (which may itself be on the full disk, and then drops
 * the line) and the terminal running `cpl up` (stderr), control characters shown, not obeyed.
 */
function announceStorage(v: StorageView, log: Logger): void {
  switch (v.state) {
    case 'ok':
      log.warn('the database accepts writes again');
      process.stderr.write('CodePlane: the database accepts writes again.\n');
      return;
    case 'read_only':
      loud(log, { storage: v }, `the database refuses writes (${v.cause}): ${v.reason}. CodePlane is read-only until that passes.`);
      return;
    case 'identity_problem':
      loud(log, { storage: v }, `DATABASE ${v.problem.toUpperCase()}: ${v.reason}. CodePlane refuses every write and removes no worktree.`);
      return;
  }
}

function loud(log: Logger, fields: Record<string, unknown>, message: string): void {
  log.error(fields, message);
  try {
    process.stderr.write(`CodePlane: ${terminalSafe(message)}\n`);
  } catch {
    // stderr gone: the log has it
  }
}

function listen(handler: RequestListener, host: string, port: number): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Tuning knobs read from the environment (documented in docs/configuration.md); anything but a positive integer is ignored. */
function positiveEnvInt(name: string): number | undefined {
  const n = Number(process.env[name] ?? '');
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}
