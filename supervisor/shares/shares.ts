/**
 * Read-only share links (api/ports.ts `SharesPort`). Tokens carry 256 random
 * bits, live only in memory for at most 24 h, and are looked up by their
 * SHA-256 then compared in constant time, so response timing says nothing
 * about a guessed token. A revoked or expired token is gone: it answers 404.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ShareView, StoredEvent } from '../../api/contract.ts';
import type { SharesPort } from '../../api/ports.ts';
import { notFound } from '../../machines/app-error.ts';
import * as approvalsRepo from '../db/approvals-repo.ts';
import type { Db } from '../db/database.ts';
import * as eventsRepo from '../db/events-repo.ts';
import * as jobsRepo from '../db/jobs-repo.ts';
import { sha256 } from '../auth/auth-store.ts';
import { ShareProjection, type ShareScope } from './share-projection.ts';

export const SHARE_TOKEN_PREFIX = 'cps_';
export const SHARE_TTL_MS = 24 * 3600 * 1000;

interface Share {
  jobId: string;
  hash: Buffer;
  expiresAt: number;
  timer: NodeJS.Timeout;
  watchers: Set<() => void>;
}

export class ShareStore implements SharesPort {
  private readonly byHash = new Map<string, Share>();

  constructor(
    private readonly db: Db,
    private readonly opts: { ttlMs?: number; lastEventId: () => number; scope: ShareScope },
  ) {}

  create(jobId: string): { token: string; expiresAt: string } {
    if (!jobsRepo.getJob(this.db, jobId)) throw notFound('JOB_NOT_FOUND', `no job ${jobId}`);
    const token = `${SHARE_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const hash = sha256(token);
    const ttl = Math.min(this.opts.ttlMs ?? SHARE_TTL_MS, SHARE_TTL_MS);
    // Two clocks, the earlier wins: the timer runs on the monotonic clock (a wall clock set back
    // cannot stretch a link's life), and `find` checks the wall-clock expiresAt the user was shown.
    const expiresAt = Date.now() + ttl;
    const timer = setTimeout(() => this.end(hash), ttl);
    timer.unref();
    this.byHash.set(hash, { jobId, hash: Buffer.from(hash, 'hex'), expiresAt, timer, watchers: new Set() });
    return { token, expiresAt: new Date(expiresAt).toISOString() };
  }

  revoke(token: string): boolean {
    const share = this.find(token);
    if (!share) return false;
    this.end(share.hash.toString('hex'));
    return true;
  }

  jobFor(token: string): string | undefined {
    return this.find(token)?.jobId;
  }

  view(token: string): ShareView {
    const share = this.find(token);
    const job = share && jobsRepo.getJob(this.db, share.jobId);
    if (!share || !job) throw notFound('SHARE_NOT_FOUND', 'this share link is unknown, revoked or expired');
    const p = new ShareProjection(job, this.opts.scope);
    const transcript = eventsRepo.transcript(this.db, job.id, { limit: 500 }).reverse().map((e) => p.entry(e));
    const pendingApprovals = approvalsRepo.listApprovals(this.db, { state: 'pending', jobId: job.id }).map((a) => p.approval(a));
    const diffEvent = eventsRepo.latestOfType(this.db, job.id, 'diff_update')?.event;
    const diff = diffEvent?.type === 'diff_update' ? { stats: diffEvent.stats, files: p.diffFiles(diffEvent.files.slice(0, 500)) } : null;
    return { job: p.sharedJob(job), transcript, pendingApprovals, diff, lastEventId: this.opts.lastEventId(), expiresAt: new Date(share.expiresAt).toISOString() };
  }

  streamFor(token: string): { jobId: string; project: (e: StoredEvent) => StoredEvent | undefined } | undefined {
    const share = this.find(token);
    const job = share && jobsRepo.getJob(this.db, share.jobId);
    if (!job) return undefined;
    const p = new ShareProjection(job, this.opts.scope);
    return { jobId: job.id, project: (e) => p.event(e) };
  }

  watch(token: string, onEnd: () => void): () => void {
    const share = this.find(token);
    if (!share) {
      onEnd();
      return () => undefined;
    }
    share.watchers.add(onEnd);
    return () => share.watchers.delete(onEnd);
  }

  /** Ends every share (server shutdown). */
  close(): void {
    for (const hash of [...this.byHash.keys()]) this.end(hash);
  }

  private find(token: string): Share | undefined {
    if (!token.startsWith(SHARE_TOKEN_PREFIX) || token.length > 100) return undefined;
    const hash = sha256(token);
    const share = this.byHash.get(hash);
    if (!share || !timingSafeEqual(share.hash, Buffer.from(hash, 'hex'))) return undefined;
    if (share.expiresAt <= Date.now()) {
      this.end(hash);
      return undefined;
    }
    return share;
  }

  private end(hash: string): void {
    const share = this.byHash.get(hash);
    if (!share) return;
    this.byHash.delete(hash);
    clearTimeout(share.timer);
    for (const w of share.watchers) w();
    share.watchers.clear();
  }
}
