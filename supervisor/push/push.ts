/**
 * Web Push (api/ports.ts `PushPort`): VAPID keys made once into
 * `$CODEPLANE_HOME/vapid.json` (0600), subscriptions in SQLite, and a hub
 * listener that pushes approval requests, jobs reaching review, and failures.
 * A subscription the push service calls gone (404/410) is dropped.
 */
import { createECDH } from 'node:crypto';
import { isStorageUnavailable } from '../storage/storage-state.ts';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { StoredEvent } from '../../api/contract.ts';
import type { PushPort, PushSubscriptionInput } from '../../api/ports.ts';
import { invalid } from '../../machines/app-error.ts';
import type { Db } from '../db/database.ts';
import * as jobsRepo from '../db/jobs-repo.ts';
import * as pushRepo from '../db/push-repo.ts';
import type { EventHub } from '../events/event-hub.ts';
import { p256KeyProblem, pushEndpointProblem } from './push-endpoint.ts';
import { pushPayloadFor, type PushPayload } from './push-payload.ts';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

export const DEFAULT_PUSH_SUBJECT = 'mailto:codeplane@example.com';
/** What web-push accepts as the VAPID subject. */
export const validPushSubject = (s: string): boolean => /^(mailto:|https:\/\/)\S+$/.test(s);

/** Reads the VAPID key pair, generating it on first use; the file is private to the user. */
export function loadOrCreateVapidKeys(file: string): VapidKeys {
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<VapidKeys>;
    if (typeof v.publicKey === 'string' && typeof v.privateKey === 'string') return { publicKey: v.publicKey, privateKey: v.privateKey };
    throw new Error(`${file} does not hold a VAPID key pair; delete it to generate a new one (existing push subscriptions then stop working)`);
  }
  // The same P-256 key pair web-push's generateVAPIDKeys() makes (raw, base64url); web-push itself loads on the first push.
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const priv = ecdh.getPrivateKey();
  const keys = { publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: Buffer.concat([Buffer.alloc(32 - priv.length), priv]).toString('base64url') };
  writeFileSync(file, `${JSON.stringify({ publicKey: keys.publicKey, privateKey: keys.privateKey }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return keys;
}

const b64urlBytes = (s: string): number => (/^[A-Za-z0-9_-]+={0,2}$/.test(s) ? Buffer.from(s, 'base64url').length : -1);

function validate(sub: PushSubscriptionInput, allowedHosts: ReadonlySet<string>): void {
  const endpoint = pushEndpointProblem(sub.endpoint, allowedHosts);
  if (endpoint) throw invalid('INVALID_SUBSCRIPTION', endpoint, 'endpoint');
  const key = p256KeyProblem(sub.keys.p256dh);
  if (key) throw invalid('INVALID_SUBSCRIPTION', key, 'keys.p256dh');
  if (b64urlBytes(sub.keys.auth) !== 16) throw invalid('INVALID_SUBSCRIPTION', 'keys.auth must be 16 bytes, base64url', 'keys.auth');
}

const WORTH_A_PUSH = (e: StoredEvent): boolean =>
  e.event.type === 'approval_requested' || e.event.type === 'containment_alarm' || (e.event.type === 'job_state_changed' && (e.event.to === 'review' || e.event.to === 'failed'));

export class PushService implements PushPort {
  private unsubscribeHub: (() => void) | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  /** `allowedHosts`: extra `host:port`s a subscription may point at (push-endpoint.ts). */
  constructor(private readonly d: { db: Db; hub: EventHub; keys: VapidKeys; subject: string; log: Logger; allowedHosts: ReadonlySet<string> }) {
    this.unsubscribeHub = d.hub.subscribe({}, (e) => this.onEvent(e));
  }

  publicKey(): string {
    return this.d.keys.publicKey;
  }

  subscribe(sub: PushSubscriptionInput): void {
    validate(sub, this.d.allowedHosts);
    pushRepo.upsertSubscription(this.d.db, sub, new Date().toISOString());
  }

  unsubscribe(endpoint: string): boolean {
    return pushRepo.deleteSubscription(this.d.db, endpoint);
  }

  /** Stops listening and waits (briefly) for pushes already on their way. */
  async close(): Promise<void> {
    this.unsubscribeHub?.();
    this.unsubscribeHub = undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  private onEvent(e: StoredEvent): void {
    if (!WORTH_A_PUSH(e)) return;
    const payload = pushPayloadFor(e, jobsRepo.getJob(this.d.db, e.jobId)?.title ?? '');
    if (!payload) return;
    for (const sub of pushRepo.listSubscriptions(this.d.db)) {
      const p = this.send(sub, payload).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  /** Drops a subscription on a background path: read-only storage keeps it for a later attempt instead of rejecting the send. */
  private forget(endpoint: string): void {
    try {
      pushRepo.deleteSubscription(this.d.db, endpoint);
    } catch (e) {
      if (!isStorageUnavailable(e)) throw e;
    }
  }

  private async send(sub: pushRepo.StoredSubscription, payload: PushPayload): Promise<void> {
    const { keys, subject } = this.d;
    // Stored before the rule (or before its host left the allowed list): never sent to, dropped.
    const problem = pushEndpointProblem(sub.endpoint, this.d.allowedHosts) ?? p256KeyProblem(sub.keys.p256dh);
    if (problem) {
      this.forget(sub.endpoint);
      this.d.log.warn({ problem }, 'push subscription no longer allowed; removed');
      return;
    }
    try {
      const { default: webpush } = await import('web-push');
      await webpush.sendNotification(sub, JSON.stringify(payload), {
        vapidDetails: { subject, publicKey: keys.publicKey, privateKey: keys.privateKey },
        TTL: payload.type === 'approval_requested' ? 24 * 3600 : 6 * 3600,
        urgency: payload.type === 'approval_requested' || payload.type === 'containment_alarm' ? 'high' : 'normal',
        timeout: 10_000,
      });
    } catch (err) {
      const status = typeof err === 'object' && err !== null && 'statusCode' in err ? Number(err.statusCode) : undefined;
      // The endpoint URL is a capability: log its origin only.
      const service = new URL(sub.endpoint).origin;
      if (status === 404 || status === 410) {
        this.forget(sub.endpoint);
        this.d.log.info({ service, status }, 'push subscription gone; removed');
      } else {
        this.d.log.warn({ service, status, error: err instanceof Error ? err.message : String(err) }, 'push failed');
      }
    }
  }
}
