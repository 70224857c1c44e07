/** Web Push subscriptions, keyed by their endpoint URL. */
import type { Db } from './database.ts';

export interface StoredSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** Idempotent: subscribing again refreshes the keys. */
export function upsertSubscription(db: Db, s: StoredSubscription, now: string): void {
  const { endpoint, keys } = s;
  db.run(
    db.q
      .insertInto('push_subscriptions')
      .values({ endpoint, p256dh: keys.p256dh, auth: keys.auth, created_at: now })
      .onConflict((oc) => oc.column('endpoint').doUpdateSet({ p256dh: keys.p256dh, auth: keys.auth })),
  );
}

export function deleteSubscription(db: Db, endpoint: string): boolean {
  return db.run(db.q.deleteFrom('push_subscriptions').where('endpoint', '=', endpoint)).changes === 1;
}

export function listSubscriptions(db: Db): StoredSubscription[] {
  return db
    .all(db.q.selectFrom('push_subscriptions').select(['endpoint', 'p256dh', 'auth']).orderBy('created_at'))
    .map((r) => ({ endpoint: r.endpoint, keys: { p256dh: r.p256dh, auth: r.auth } }));
}
