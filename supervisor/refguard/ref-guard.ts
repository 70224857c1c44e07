import type { ContainmentAlarm } from '../../machines/domain-events.ts';
import { dropBaseline, loadBaseline, saveBaseline, type Baseline } from './baseline-store.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { compareRefs, type RefChange } from './ref-compare.ts';
import { restoreRefs, type RestoreOutcome } from './ref-restore.ts';
import { packedRefsUnreadable, putBackPackedRefs, readPackedRefs } from './packed-refs.ts';
import { alarmFor } from './ref-alarm.ts';
import { BROKEN, WORKTREE_HEAD, listRefs, locate, takeRefSnapshot, type RefSnapshot } from './ref-snapshot.ts';
import { existsSync } from 'node:fs';

/** How a put-back packed-refs file is named in an alarm. */
const PACKED_REFS = 'packed-refs';

/** The job fields the guard needs. */
export interface GuardedJob {
  id: string;
  repo: string;
  worktreePath: string;
  branch: string;
}

export type { ContainmentAlarm };

export interface RefGuardDeps {
  jobDir(jobId: string): string;
  /** Records the alarm as the job's own event (and so in its transcript, the UI and a push). */
  alarm(jobId: string, alarm: ContainmentAlarm): Promise<void>;
  /** A line for the job's log: the guard could not do its check. */
  warn(jobId: string, message: string): void;
  /** Each check, done (for the server log: when a turn was checked and what it found). */
  checked?(jobId: string, result: { turnOver: boolean; changes: number; undone: number }): void;
}

/**
 * The second line behind the sandbox (issue 13): before every agent turn the
 * repository's refs and HEADs are recorded; after it, anything changed
 * outside the job's own branch is undone and raised as an alarm on the job.
 *
 * WHY in the supervisor, not the worker: the supervisor is the only process
 * that knows every ref change CodePlane itself makes in a repository (a merge
 * moving `main`, a new job's branch, a discarded job's branch deleted) while
 * other jobs' turns are in flight there; those are folded into the in-flight
 * baselines (`ownChange`) under the same per-repository lock as the
 * compare-and-undo, so the guard never reverts CodePlane's own work.
 *
 * Why the branches of other jobs whose turns overlap this one are left out:
 * each job's agent moves its own branch, and each job checks its own turn.
 *
 * What it cannot tell apart (written down in docs/security.md): a change the
 * USER makes in their own checkout *during* a turn looks like the agent's. It
 * is undone too, and the alarm keeps the value that was undone, so nothing is
 * lost (the commits stay in the object store; the job page says how to put
 * the ref back). A change made after the check is never touched
 * (compare-and-swap).
 */
export class RefGuard {
  private readonly inFlight = new Map<string, Baseline>();
  private readonly repoLocks = new KeyedMutex();
  /** Per job: begin and end run in the order they were asked for. */
  private readonly jobLocks = new KeyedMutex();

  constructor(private readonly d: RefGuardDeps) {}

  /**
   * Records the refs before a turn. `continuing`: the turn was already under
   * way (a worker restarted mid-turn): its first baseline stays. Resolves with
   * an alarm when the refs could not be recorded (the turn then goes
   * unchecked, and the user must know; the caller raises it once the turn's
   * worker can number it).
   */
  beginTurn(job: GuardedJob, opts: { continuing?: boolean } = {}): Promise<ContainmentAlarm | undefined> {
    return this.jobLocks.run(job.id, async () => {
      if (opts.continuing) {
        const kept = this.inFlight.get(job.id) ?? loadBaseline(this.d.jobDir(job.id));
        if (kept) {
          this.inFlight.set(job.id, kept);
          return undefined;
        }
      }
      try {
        await this.repoLocks.run(job.repo, async () => {
          const places = await locate(job.repo, job.worktreePath);
          // Jobs of the same repository working now, and (below) those that start while this turn runs: their branches are theirs.
          const working = [...this.inFlight.values()].filter((b) => b.jobId !== job.id && b.places.repoPath === places.repoPath);
          const snapshot = await takeRefSnapshot(places);
          const packedRefs = await readPackedRefs(places.commonDir);
          const baseline: Baseline = { jobId: job.id, branch: job.branch, othersWorking: working.map((b) => b.branch), places, snapshot, ...(packedRefs !== undefined ? { packedRefs } : {}) };
          saveBaseline(this.d.jobDir(job.id), baseline);
          this.inFlight.set(job.id, baseline);
          for (const b of working) {
            if (b.othersWorking.includes(job.branch)) continue;
            b.othersWorking.push(job.branch);
            saveBaseline(this.d.jobDir(b.jobId), b);
          }
        });
        return undefined;
      } catch (e) {
        this.forgetNow(job.id);
        const why = `could not record the repository's refs before the turn, so this turn is not checked: ${e instanceof Error ? e.message : String(e)}`;
        this.d.warn(job.id, `ref guard: ${why}`);
        return { message: `The ref guard ${why}. Look at the repository before you use it.`, changes: [] };
      }
    });
  }

  /** After a turn: compares, undoes what changed outside the job's branch, raises the alarm. */
  endTurn(jobId: string): Promise<void> {
    return this.check(jobId, { turnOver: true });
  }

  /**
   * The same check while the turn waits for an approval: the alarm reaches the
   * user before they decide, not after. The baseline stays (the turn goes on):
   * what was undone matches it again, and what could not be undone is tried
   * again when the turn ends.
   */
  midTurn(jobId: string): Promise<void> {
    return this.check(jobId, { turnOver: false });
  }

  private check(jobId: string, opts: { turnOver: boolean }): Promise<void> {
    return this.jobLocks.run(jobId, async () => {
      const baseline = this.inFlight.get(jobId) ?? loadBaseline(this.d.jobDir(jobId));
      if (!baseline) return;
      let alarm: ContainmentAlarm | undefined;
      try {
        alarm = await this.repoLocks.run(baseline.places.repoPath, async () => {
          // Re-read: ownChange may have folded CodePlane's own changes in meanwhile.
          const base = this.inFlight.get(jobId) ?? baseline;
          // A repository deleted under the job has no refs left to guard: the workspace check fails
          // the job with REPO_MISSING; running git here would only fail (or find an enclosing repository).
          if (!existsSync(base.places.commonDir)) return undefined;
          const { after, repaired } = await this.readOrRepair(base);
          // A worktree removed altogether is the workspace check's to report (the job fails with it), not a HEAD to restore.
          const wtGone = !(WORKTREE_HEAD in after) && !existsSync(base.places.worktreeGitDir);
          const before = wtGone ? withoutKey(base.snapshot, WORKTREE_HEAD) : base.snapshot;
          const changes = compareRefs(before, after, base.branch, base.othersWorking);
          if (changes.length === 0 && !repaired) return undefined;
          const outcomes = await restoreRefs(base.places, changes);
          return alarmFor(repaired ? [repaired, ...outcomes] : outcomes);
        });
      } catch (e) {
        // The refs cannot be read at all: the user must hear of it (their repository may be unusable), not only the log.
        const why = `could not check the repository's refs ${opts.turnOver ? 'after the turn' : 'during the turn'}: ${e instanceof Error ? e.message : String(e)}`;
        this.d.warn(jobId, `ref guard: ${why}`);
        alarm = { message: `The ref guard ${why}. Look at the repository before you use it.`, changes: [] };
      } finally {
        if (opts.turnOver) this.forgetNow(jobId);
      }
      if (alarm) await this.d.alarm(jobId, alarm);
      this.d.checked?.(jobId, { turnOver: opts.turnOver, changes: (alarm?.changes.length ?? 0) + (alarm?.omitted ?? 0), undone: alarm?.changes.filter((c) => c.undone).length ?? 0 });
    });
  }

  /**
   * The refs after the turn. When git cannot read them because packed-refs was
   * made unreadable, it is put back as it was before the turn (packed-refs.ts)
   * and read again; `repaired` is that change, for the alarm.
   */
  private async readOrRepair(base: Baseline): Promise<{ after: RefSnapshot; repaired?: RestoreOutcome }> {
    try {
      return { after: await takeRefSnapshot(base.places) };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (base.packedRefs === undefined || !packedRefsUnreadable(message)) throw e;
      const seen = await readPackedRefs(base.places.commonDir);
      if (seen === undefined) throw e;
      const failed = await putBackPackedRefs(base.places.commonDir, base.packedRefs, seen);
      if (failed) throw new Error(`${message}; putting packed-refs back failed: ${failed}`);
      const change: RefChange = { kind: 'moved', ref: PACKED_REFS, before: 'readable', after: BROKEN };
      return { after: await takeRefSnapshot(base.places), repaired: { change, undone: true } };
    }
  }

  /** A worker that outlived the previous supervisor: its turn's baseline (on disk) is in flight again. */
  adopt(jobId: string): void {
    const b = this.inFlight.get(jobId) ?? loadBaseline(this.d.jobDir(jobId));
    if (b) this.inFlight.set(jobId, b);
  }

  /** Whether a turn of this job is being watched (for tests and the log). */
  watching(jobId: string): boolean {
    return this.inFlight.has(jobId);
  }

  /**
   * Runs one of CodePlane's own ref changes in `repoPath` (merge, new job
   * branch, discard, push). What it changed among the refs `touches` accepts is
   * folded into every in-flight baseline of that repository, so no guard
   * takes CodePlane's change for an agent's. WHY only `touches`: an agent's
   * change to any other ref in the same moment is still caught.
   */
  async ownChange<T>(repoPath: string, touches: (ref: string) => boolean, op: () => Promise<T>): Promise<T> {
    return this.repoLocks.run(repoPath, async () => {
      const affected = [...this.inFlight.values()].filter((b) => b.places.repoPath === repoPath);
      if (affected.length === 0) return op();
      const before = await listRefs(repoPath).catch(() => undefined);
      try {
        return await op();
      } finally {
        const after = before && (await listRefs(repoPath).catch(() => undefined));
        if (before && after) {
          const mine = compareRefs(before, after, undefined).filter((c) => touches(c.ref));
          for (const b of affected) this.fold(b, mine);
        }
      }
    });
  }

  /** The job's turns are over for good (resolved, deleted): nothing more to check. */
  forget(jobId: string): void {
    void this.jobLocks.run(jobId, async () => this.forgetNow(jobId));
  }

  private forgetNow(jobId: string): void {
    this.inFlight.delete(jobId);
    dropBaseline(this.d.jobDir(jobId));
  }

  private fold(b: Baseline, changes: readonly RefChange[]): void {
    if (changes.length === 0) return;
    for (const c of changes) {
      if (c.kind === 'deleted') delete b.snapshot[c.ref];
      else b.snapshot[c.ref] = c.after;
    }
    saveBaseline(this.d.jobDir(b.jobId), b);
  }
}

const withoutKey = (s: RefSnapshot, key: string): RefSnapshot => Object.fromEntries(Object.entries(s).filter(([k]) => k !== key));
