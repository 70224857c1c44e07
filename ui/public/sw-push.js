// Web Push for CodePlane's service worker: load it from sw.js with importScripts('/sw-push.js').
// Payload (see README "API"): {type, title, body, url, tag, jobId, approvalId?, actions?, resolveUrl?}.
// Approve/Reject buttons answer with an authenticated same-origin call; if that fails (logged
// out, already answered), the approval's page opens instead. A subscription the push service
// rotates is renewed here (pushsubscriptionchange), without the page being open.

self.addEventListener('push', (event) => {
  let p = {};
  try {
    p = event.data ? event.data.json() : {};
  } catch {
    p = {};
  }
  event.waitUntil(
    self.registration.showNotification(p.title || 'CodePlane', {
      body: p.body || '',
      tag: p.tag,
      data: p,
      icon: '/icons/icon-192.png',
      actions: Array.isArray(p.actions) ? p.actions : [],
      requireInteraction: p.type === 'approval_requested',
    }),
  );
});

async function openPage(url) {
  const target = new URL(url || '/', self.location.origin);
  if (target.origin !== self.location.origin) return undefined;
  for (const c of await self.clients.matchAll({ type: 'window', includeUncontrolled: true })) {
    if ('navigate' in c) await c.navigate(target.href).catch(() => undefined);
    if ('focus' in c) return c.focus();
  }
  return self.clients.openWindow(target.href);
}

self.addEventListener('notificationclick', (event) => {
  const p = event.notification.data || {};
  event.notification.close();
  if ((event.action === 'approve' || event.action === 'reject') && typeof p.resolveUrl === 'string' && p.resolveUrl.startsWith('/api/approvals/')) {
    const resolution = event.action === 'approve' ? 'approved' : 'rejected';
    event.waitUntil(
      fetch(p.resolveUrl, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resolution }) })
        .then((res) => (res.ok ? undefined : openPage(p.url)))
        .catch(() => openPage(p.url)),
    );
    return;
  }
  event.waitUntil(openPage(p.url));
});

function base64UrlBytes(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function sendSubscription(method, body) {
  const res = await fetch('/api/push/subscriptions', { method, credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  // DELETE 404: the server had already dropped the old endpoint, which is what we want.
  if (!res.ok && !(method === 'DELETE' && res.status === 404)) throw new Error(`${method} /api/push/subscriptions: ${res.status}`);
}

/**
 * The push service rotated or expired this device's subscription: subscribe again with the
 * same server key (asking the server when the old options lack it), store the new one and drop
 * the old endpoint, so approvals keep reaching this device without the page being opened.
 */
async function resubscribe(oldSubscription, newSubscription) {
  let sub = newSubscription;
  if (!sub) {
    let key = oldSubscription && oldSubscription.options ? oldSubscription.options.applicationServerKey : null;
    if (!key) {
      const res = await fetch('/api/push/vapid-public-key', { credentials: 'same-origin' });
      if (!res.ok) throw new Error(`GET /api/push/vapid-public-key: ${res.status}`);
      key = base64UrlBytes((await res.json()).publicKey);
    }
    sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  await sendSubscription('POST', sub.toJSON());
  if (oldSubscription && oldSubscription.endpoint !== sub.endpoint) await sendSubscription('DELETE', { endpoint: oldSubscription.endpoint });
  return sub;
}

self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(resubscribe(event.oldSubscription, event.newSubscription));
});
