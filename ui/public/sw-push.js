// Web Push for CodePlane's service worker: load it from sw.js with importScripts('/sw-push.js').
// Payload (see README "API"): {type, title, body, url, tag, jobId, approvalId?, actions?, resolveUrl?}.
// Approve/Reject buttons answer with an authenticated same-origin call; if that fails (logged
// out, already answered), the approval's page opens instead.

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
