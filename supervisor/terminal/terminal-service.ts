/**
 * A shell per job, in the job's worktree, for the browser's terminal tab.
 *
 * One live pty per job, shared by every attachment (two tabs see the same
 * shell, like tmux). The shell outlives its attachments: a command keeps
 * running while the phone is locked, and the bounded scrollback is replayed
 * when it comes back. It ends when the shell exits, when the job is resolved
 * (the `job_resolved` event, which is published before the worktree is
 * removed) and when the server stops. The pty lives in the supervisor, not
 * the job worker: it is the user's shell, not the agent's, and it must not
 * count as the agent holding the worktree.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { spawn, type IPty } from 'node-pty';
import type { Logger } from 'pino';
import type { Job } from '../../api/contract.ts';
import type { TerminalAttachment, TerminalEnd, TerminalSink, TerminalsPort } from '../../api/ports.ts';
import { AppError, conflict, notFound } from '../../machines/app-error.ts';
import type { Db } from '../db/database.ts';
import * as jobsRepo from '../db/jobs-repo.ts';
import type { EventHub } from '../events/event-hub.ts';
import { DEFAULT_SCROLLBACK_CHARS, TerminalScrollback } from './terminal-scrollback.ts';

export interface TerminalServiceDeps {
  db: Db;
  hub: EventHub;
  log: Logger;
  /** The shell's environment before CodePlane's additions (defaults to the server's, minus its secrets). */
  env?: NodeJS.ProcessEnv;
  scrollbackChars?: number;
  /** Between SIGHUP and SIGKILL when a terminal is ended. */
  killGraceMs?: number;
}

/** Variables of the server that the user's shell has no business seeing. */
/**
 * CodePlane's own variables stay with the server: the password, test knobs, paths. The shell is the
 * owner's, but what it runs comes from the agent's worktree (`npm test` runs the agent's code).
 */
const serverOwn = (name: string): boolean => /^(CPL|CODEPLANE)_/i.test(name);
const DEFAULT_SIZE = { cols: 80, rows: 24 };

interface Attached {
  readonly sink: TerminalSink;
  backedUp: boolean;
}

interface Session {
  readonly job: Job;
  readonly pty: IPty;
  readonly scrollback: TerminalScrollback;
  readonly attachments: Set<Attached>;
  readonly exited: Promise<void>;
  size: { cols: number; rows: number };
  paused: boolean;
  /** Set once: who ended it (a shell that exits on its own ends as `shell_exited`). */
  ended?: TerminalEnd;
}

export class TerminalService implements TerminalsPort {
  private readonly sessions = new Map<string, Session>();
  private readonly unsubscribe: () => void;
  private closing = false;

  constructor(private readonly d: TerminalServiceDeps) {
    this.unsubscribe = d.hub.subscribe({}, (e) => {
      if (e.event.type === 'job_resolved') void this.end(e.jobId, 'job_resolved', `the job was ${e.event.resolution}; its terminal is closed`);
    });
  }

  check(jobId: string): void {
    this.usableJob(jobId);
  }

  attach(jobId: string, sink: TerminalSink, size?: { cols: number; rows: number }): TerminalAttachment {
    if (this.closing) throw new AppError('unavailable', 'SERVER_STOPPING', 'the server is stopping');
    const job = this.usableJob(jobId);
    const session = this.sessions.get(jobId) ?? this.start(job, size ?? DEFAULT_SIZE);
    const me: Attached = { sink, backedUp: false };
    session.attachments.add(me);
    if (size) this.resize(session, size);
    // Synchronously, before the next pty data event: the replay and the live stream neither overlap nor leave a gap.
    const replay = session.scrollback.text();
    if (replay) sink.output(replay);
    let detached = false;
    return {
      input: (data) => {
        if (!detached && !session.ended) session.pty.write(data);
      },
      resize: (cols, rows) => {
        if (!detached && !session.ended) this.resize(session, { cols, rows });
      },
      backedUp: (on) => {
        if (detached) return;
        me.backedUp = on;
        this.updateFlow(session);
      },
      detach: () => {
        if (detached) return;
        detached = true;
        session.attachments.delete(me);
        this.updateFlow(session);
      },
    };
  }

  /** Live shells, for tests and diagnostics. */
  get size(): number {
    return this.sessions.size;
  }

  /** Ends every terminal (attachments are told `server_stopping`) and waits for the shells to exit. Idempotent. */
  async close(): Promise<void> {
    this.closing = true;
    this.unsubscribe();
    await Promise.all([...this.sessions.keys()].map((jobId) => this.end(jobId, 'server_stopping', 'the server is stopping')));
  }

  private usableJob(jobId: string): Job {
    const job = jobsRepo.getJob(this.d.db, jobId);
    if (!job) throw notFound('JOB_NOT_FOUND', `no job ${jobId}`);
    if (job.resolution) throw conflict('NO_WORKTREE', `the job was ${job.resolution}; its terminal closed with it`);
    if (job.state === 'queued' || job.state === 'preparing') throw conflict('NO_WORKTREE', `the job is ${job.state}: its worktree does not exist yet`);
    if (!existsSync(job.worktreePath)) throw conflict('NO_WORKTREE', 'the job\'s worktree is gone');
    return job;
  }

  private start(job: Job, size: { cols: number; rows: number }): Session {
    const shell = pickShell(this.d.env ?? process.env);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.d.env ?? process.env)) if (v !== undefined && !serverOwn(k)) env[k] = v;
    // PWD as given keeps a worktree path reached through a symlink as the user knows it (bash trusts PWD when it names the cwd).
    Object.assign(env, { TERM: 'xterm-256color', COLORTERM: 'truecolor', PWD: job.worktreePath, CODEPLANE_JOB_ID: job.id });
    let pty: IPty;
    try {
      pty = spawn(shell, [], { name: 'xterm-256color', cwd: job.worktreePath, env, cols: size.cols, rows: size.rows });
    } catch (e) {
      throw new AppError('unavailable', 'TERMINAL_FAILED', `cannot start ${shell}: ${e instanceof Error ? e.message : String(e)}`);
    }
    let onExited!: () => void;
    const session: Session = {
      job,
      pty,
      scrollback: new TerminalScrollback(this.d.scrollbackChars ?? DEFAULT_SCROLLBACK_CHARS),
      attachments: new Set(),
      exited: new Promise<void>((r) => (onExited = r)),
      size: { ...size },
      paused: false,
    };
    this.sessions.set(job.id, session);
    const log = this.d.log.child({ jobId: job.id });
    log.info({ shellPid: pty.pid, shell, cwd: job.worktreePath }, 'terminal started');
    pty.onData((data) => {
      session.scrollback.append(data);
      for (const a of session.attachments) a.sink.output(data);
    });
    pty.onExit(({ exitCode, signal }) => {
      log.info({ shellPid: pty.pid, exitCode, signal, reason: session.ended ?? 'shell_exited' }, 'terminal ended');
      if (!session.ended) this.finish(session, 'shell_exited', `the shell exited${signal ? ` (signal ${signal})` : ` with code ${exitCode}`}`);
      onExited();
    });
    return session;
  }

  private async end(jobId: string, reason: TerminalEnd, message: string): Promise<void> {
    const session = this.sessions.get(jobId);
    if (!session) return;
    if (!session.ended) this.finish(session, reason, message);
    const { pid } = session.pty;
    // A paused pty might never report its exit: let the last output drain.
    if (session.paused) session.pty.resume();
    signalGroup(pid, 'SIGHUP');
    const grace = this.d.killGraceMs ?? 2000;
    const timers: NodeJS.Timeout[] = [];
    try {
      await Promise.race([
        session.exited,
        new Promise<void>((r) => {
          timers.push(setTimeout(() => signalGroup(pid, 'SIGKILL'), grace));
          // Stopping must not hang on a pty that never reports its exit.
          timers.push(setTimeout(r, grace + 3000));
        }),
      ]);
    } finally {
      for (const t of timers) clearTimeout(t);
    }
  }

  /** Tells every attachment and forgets the session (a later attach starts a fresh shell, when the job allows one). */
  private finish(session: Session, reason: TerminalEnd, message: string): void {
    session.ended = reason;
    if (this.sessions.get(session.job.id) === session) this.sessions.delete(session.job.id);
    const attachments = [...session.attachments];
    session.attachments.clear();
    for (const a of attachments) {
      try {
        a.sink.end(reason, message);
      } catch (err) {
        this.d.log.warn({ err, jobId: session.job.id }, 'a terminal attachment failed to close');
      }
    }
  }

  private resize(session: Session, size: { cols: number; rows: number }): void {
    if (size.cols === session.size.cols && size.rows === session.size.rows) return;
    session.size = { ...size };
    try {
      session.pty.resize(size.cols, size.rows);
    } catch {
      /* the shell exited meanwhile; onExit tells the attachments */
    }
  }

  /** Output pauses while any attachment's socket is backed up, and resumes once none is. */
  private updateFlow(session: Session): void {
    if (session.ended) return;
    const backedUp = [...session.attachments].some((a) => a.backedUp);
    if (backedUp === session.paused) return;
    session.paused = backedUp;
    if (backedUp) session.pty.pause();
    else session.pty.resume();
  }
}

/** The user's login shell when it is usable, else bash, else sh. */
export function pickShell(env: NodeJS.ProcessEnv): string {
  const candidates = [env['SHELL'], '/bin/bash', '/bin/sh'];
  for (const c of candidates) {
    if (!c || !c.startsWith('/')) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* not there or not executable: try the next */
    }
  }
  return '/bin/sh';
}

/** The shell leads its own session and process group (node-pty calls setsid): signal the group, then the shell itself. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      /* already gone */
    }
  }
}
