// CodePlane service worker: an offline shell. The API and the event stream
// always go to the network; the app shell falls back to the cache offline.
// Web Push (notifications, Approve/Reject buttons, re-subscription) lives in sw-push.js.
importScripts('/sw-push.js');

const CACHE = 'codeplane-shell-v1';
const SHELL = ['/', '/manifest.webmanifest', '/icons/icon.svg', '/icons/icon-192.png', '/icons/icon-512.png'];

/** The shell plus the hashed bundles index.html references, so the app opens offline after one visit. */
async function precache() {
  const cache = await caches.open(CACHE);
  await cache.addAll(SHELL);
  const index = await cache.match('/');
  const html = index ? await index.text() : '';
  await cache.addAll([...new Set([...html.matchAll(/\/assets\/[\w.-]+/g)].map((m) => m[0]))]);
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

/** Keeps only the hashed assets the current index.html references. */
async function pruneAssets(html) {
  const wanted = new Set([...html.matchAll(/\/assets\/[\w.-]+/g)].map((m) => m[0]));
  const cache = await caches.open(CACHE);
  for (const req of await cache.keys()) {
    const path = new URL(req.url).pathname;
    if (path.startsWith('/assets/') && !wanted.has(path)) await cache.delete(req);
  }
}

async function navigate(request) {
  try {
    const res = await fetch(request);
    if (res.ok && (res.headers.get('content-type') ?? '').includes('text/html')) {
      const copy = res.clone();
      const cache = await caches.open(CACHE);
      await cache.put('/', copy.clone());
      copy.text().then(pruneAssets).catch(() => undefined);
    }
    return res;
  } catch {
    return (await caches.match('/')) ?? Response.error();
  }
}

async function cacheFirst(request) {
  const hit = await caches.match(request);
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok) (await caches.open(CACHE)).put(request, res.clone());
  return res;
}

async function staleWhileRevalidate(request) {
  const hit = await caches.match(request);
  const fresh = fetch(request).then(async (res) => {
    if (res.ok) (await caches.open(CACHE)).put(request, res.clone());
    return res;
  });
  return hit ?? fresh;
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/share/') || url.pathname === '/sw.js' || url.pathname === '/sw-push.js') return;
  if (req.mode === 'navigate') event.respondWith(navigate(req));
  else if (url.pathname.startsWith('/assets/')) event.respondWith(cacheFirst(req));
  else if (url.pathname.startsWith('/icons/') || url.pathname === '/manifest.webmanifest') event.respondWith(staleWhileRevalidate(req));
});
