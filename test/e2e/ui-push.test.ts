/**
 * Web Push in a real Chromium, against the real server. Headless Chromium
 * has no push service, so the browser's side is driven directly: push,
 * notificationclick and pushsubscriptionchange events dispatched in the real
 * service worker, and the bell in the top bar turning notifications on, off,
 * or explaining why it cannot.
 */
import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { Browser, BrowserContext, Page, Worker } from 'playwright-core';
import type { Approval, Job } from '../../api/contract.ts';
import { pushPayloadFor, type PushPayload } from '../../supervisor/push/push-payload.ts';
import { ensureUiBuilt, horizontalOverflow, launchBrowser, screenshot, smallTapTargets, watchConsole, type ConsoleWatch } from '../helpers/browser.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

/** Chromium's own message when a script subscribes in an incognito context (every Playwright context is one). */
const INCOGNITO_PUSH = /does not support the Push API in incognito mode/;
/**
 * tsx compiles this file keeping function names (`__name(fn, "fn")`); functions serialized into
 * the service worker or the page call that helper, so it must exist there too.
 */
const NAME_SHIM = 'globalThis.__name = (fn) => fn';
/** A second name for the server that is not a secure context (http, not loopback). */
const INSECURE_HOST = 'codeplane.test';

/** What the tests use of a service worker's global scope (the DOM lib has no worker types). */
interface SwScope {
  registration: ServiceWorkerRegistration;
  dispatchEvent(e: Event): boolean;
  PushEvent: new (type: string, init: { data?: string }) => Event;
  NotificationEvent: new (type: string, init: { notification: Notification; action?: string }) => Event;
  PushSubscriptionChangeEvent: new (type: string, init?: Record<string, never>) => Event;
  PushManager: { prototype: PushManager };
}

interface ShownNotification {
  title: string;
  body: string;
  tag: string;
  requireInteraction: boolean;
  actions: { action: string; title: string }[];
  data: PushPayload;
}

/** A subscription as a push service would hand it out: an https endpoint and real-looking keys. */
function fakeSubscriptionJson(name: string): { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    endpoint: `https://push.example.test/${name}-${randomBytes(6).toString('hex')}`,
    expirationTime: null,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') },
  };
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Web Push in the browser', () => {
  let repo: string;
  let server: ServerProcess;
  let browser: Browser;
  let swContext: BrowserContext;
  let swPage: Page;
  let worker: Worker;
  let serverKey: string;

  const storedEndpoints = (): string[] => {
    const db = new BetterSqlite3(join(server.home, 'codeplane.db'), { readonly: true });
    try {
      return (db.prepare('SELECT endpoint FROM push_subscriptions').all() as { endpoint: string }[]).map((r) => r.endpoint);
    } finally {
      db.close();
    }
  };

  /** Opens the dashboard and waits until the service worker controls it. */
  const openApp = async (context: BrowserContext, url = server.url): Promise<Page> => {
    const page = await context.newPage();
    await page.goto(url);
    await page.locator('.topbar .brand').waitFor();
    return page;
  };

  before(async () => {
    repo = makeRepo();
    // The server also answers to a plain-http name, to show what a page that is not a secure context says.
    const home = mkdtempSync(join(tmpdir(), 'cpl-home-'));
    mkdirSync(home, { recursive: true });
    // The fake subscriptions point at push.example.test, no known push service: listed, as a self-hosted one would be.
    writeFileSync(join(home, 'config.json'), `${JSON.stringify({ allowedHosts: [INSECURE_HOST], pushAllowedHosts: ['push.example.test:443'] })}\n`, { mode: 0o600 });
    [server] = await Promise.all([startServerProcess({ cwd: repo, home }), ensureUiBuilt()]);
    browser = await launchBrowser([`--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`]);
    swContext = await browser.newContext({ viewport: { width: 1280, height: 860 }, permissions: ['notifications'] });
    swContext.setDefaultTimeout(60_000); // a busy machine slows the server, not the assertions
    swPage = await openApp(swContext);
    await swPage.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 60_000 });
    worker = swContext.serviceWorkers()[0] ?? (await swContext.waitForEvent('serviceworker'));
    await worker.evaluate(NAME_SHIM);
    serverKey = (await api<{ publicKey: string }>(server.url, 'GET', '/api/push/vapid-public-key')).body.publicKey;
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('serves sw-push.js to the service worker, which still precaches the offline shell', async () => {
    const res = await fetch(`${server.url}/sw-push.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.match(await (await fetch(`${server.url}/sw.js`)).text(), /importScripts\('\/sw-push\.js'\)/);
    assert.ok(worker.url().endsWith('/sw.js'));
    const cached = await swPage.evaluate(async () => {
      const out: string[] = [];
      for (const name of await caches.keys()) for (const req of await (await caches.open(name)).keys()) out.push(new URL(req.url).pathname);
      return out;
    });
    for (const p of ['/', '/manifest.webmanifest', '/icons/icon.svg']) assert.ok(cached.includes(p), `${p} cached: ${cached.join(', ')}`);
    assert.ok(cached.some((p) => p.startsWith('/assets/') && p.endsWith('.js')), 'the hashed bundle is cached');
  });

  it('shows a pushed approval request as a notification with Approve and Reject', async () => {
    const approval = { id: 'apr_shown', kind: 'shell' as const, summary: 'npm test --token=abc123', detail: {}, requestedAt: new Date().toISOString(), explicit: false };
    const payload = pushPayloadFor({ id: 1, jobId: 'job_shown', seq: 1, ts: approval.requestedAt, event: { type: 'approval_requested', approval } }, 'Fix the flaky test')!;
    const shown = await worker.evaluate(async (p) => {
      const sw = self as unknown as SwScope;
      const ev = new sw.PushEvent('push', { data: JSON.stringify(p) });
      // A script-made event refuses waitUntil(); collect the promises as the browser would.
      const waits: Promise<unknown>[] = [];
      Object.defineProperty(ev, 'waitUntil', { value: (w: Promise<unknown>) => void waits.push(w) });
      sw.dispatchEvent(ev);
      await Promise.all(waits);
      const list = await sw.registration.getNotifications({ tag: p.tag });
      const out = list.map((n) => {
        const extra = n as Notification & { actions: { action: string; title: string }[]; requireInteraction: boolean };
        return { title: n.title, body: n.body, tag: n.tag, requireInteraction: extra.requireInteraction, actions: extra.actions.map((a) => ({ action: a.action, title: a.title })), data: n.data as PushPayload };
      });
      list.forEach((n) => n.close());
      return out;
    }, payload);
    assert.equal(shown.length, 1);
    const n = shown[0] as ShownNotification;
    assert.equal(n.title, 'Approval needed: Fix the flaky test');
    assert.equal(n.body, 'shell: npm test --token=•••');
    assert.equal(n.tag, 'approval-apr_shown');
    assert.equal(n.requireInteraction, true);
    assert.deepEqual(n.actions, [
      { action: 'approve', title: 'Approve' },
      { action: 'reject', title: 'Reject' },
    ]);
    assert.equal(n.data.resolveUrl, '/api/approvals/apr_shown/resolve');
  });

  it('approves a real request from the notification, and a click on a notification opens its page', async () => {
    const job = (await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'Take notes [[write notes.txt hi]]', agent: 'claude', permissionMode: 'review_and_approve' })).body;
    const approval = await poll('the approval request', async () => {
      const pending = (await api<Approval[]>(server.url, 'GET', '/api/approvals?state=pending')).body;
      return pending.find((a) => a.jobId === job.id);
    });
    const { id, kind, summary, detail, requestedAt, explicit } = approval;
    const payload = pushPayloadFor({ id: 0, jobId: job.id, seq: 0, ts: requestedAt, event: { type: 'approval_requested', approval: { id, kind, summary, detail, requestedAt, explicit } } }, job.title)!;

    const left = await worker.evaluate(async (p) => {
      const sw = self as unknown as SwScope;
      const settle = async (ev: Event) => {
        const waits: Promise<unknown>[] = [];
        Object.defineProperty(ev, 'waitUntil', { value: (w: Promise<unknown>) => void waits.push(w) });
        sw.dispatchEvent(ev);
        await Promise.all(waits);
      };
      await settle(new sw.PushEvent('push', { data: JSON.stringify(p) }));
      const [notification] = await sw.registration.getNotifications({ tag: p.tag });
      if (!notification) throw new Error('no notification shown');
      await settle(new sw.NotificationEvent('notificationclick', { notification, action: 'approve' }));
      return (await sw.registration.getNotifications({ tag: p.tag })).length;
    }, payload);
    assert.equal(left, 0, 'the notification closes once answered');

    const resolved = (await api<Approval[]>(server.url, 'GET', `/api/approvals?jobId=${job.id}`)).body.find((a) => a.id === approval.id);
    assert.equal(resolved?.resolution, 'approved');
    await poll('the job to reach review', async () => ((await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.state === 'review' ? true : undefined));

    // A click on the notification itself (no button) takes the open page to the job.
    const review = pushPayloadFor({ id: 0, jobId: job.id, seq: 0, ts: requestedAt, event: { type: 'job_state_changed', from: 'running', to: 'review' } } as Parameters<typeof pushPayloadFor>[0], job.title)!;
    await worker.evaluate(async (p) => {
      const sw = self as unknown as SwScope;
      const waits: Promise<unknown>[] = [];
      await sw.registration.showNotification(p.title, { body: p.body, tag: p.tag, data: p });
      const [notification] = await sw.registration.getNotifications({ tag: p.tag });
      if (!notification) throw new Error('no notification shown');
      const ev = new sw.NotificationEvent('notificationclick', { notification });
      Object.defineProperty(ev, 'waitUntil', { value: (w: Promise<unknown>) => void waits.push(w) });
      sw.dispatchEvent(ev);
      // focus() needs the user activation only a real click gives; the navigation is what counts.
      await Promise.allSettled(waits);
    }, review);
    await swPage.waitForURL(new RegExp(`/jobs/${job.id}$`));
    await swPage.locator('.job-page').waitFor();
  });

  it('re-subscribes on pushsubscriptionchange with the server key, stores the new endpoint and drops the old one', async () => {
    const old = fakeSubscriptionJson('old');
    assert.equal((await api(server.url, 'POST', '/api/push/subscriptions', old)).status, 201);
    const fresh = fakeSubscriptionJson('fresh');
    const rotated = fakeSubscriptionJson('rotated');
    const keys = await worker.evaluate(
      async ({ old, fresh, rotated }) => {
        const sw = self as unknown as SwScope;
        const settle = async (ev: Event, fields: Record<string, unknown>) => {
          // The event's subscriptions must be real PushSubscriptions, which only a push service makes.
          for (const [k, value] of Object.entries(fields)) Object.defineProperty(ev, k, { value });
          const waits: Promise<unknown>[] = [];
          Object.defineProperty(ev, 'waitUntil', { value: (w: Promise<unknown>) => void waits.push(w) });
          sw.dispatchEvent(ev);
          await Promise.all(waits);
        };
        const asSubscription = (json: typeof fresh, key: ArrayBuffer | null) => ({ endpoint: json.endpoint, options: { applicationServerKey: key, userVisibleOnly: true }, toJSON: () => json });
        // A stand-in push service: record what subscribe() was asked for.
        const seen: string[] = [];
        const proto = sw.PushManager.prototype;
        const real = proto.subscribe;
        proto.subscribe = async function (opts?: PushSubscriptionOptionsInit) {
          const key = opts?.applicationServerKey;
          const bytes = key instanceof ArrayBuffer ? new Uint8Array(key) : ArrayBuffer.isView(key) ? new Uint8Array(key.buffer, key.byteOffset, key.byteLength) : new Uint8Array();
          seen.push(btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
          return asSubscription(fresh, bytes.buffer as ArrayBuffer) as unknown as PushSubscription;
        };
        try {
          // The old subscription's options lack the key: the worker asks the server for it.
          await settle(new sw.PushSubscriptionChangeEvent('pushsubscriptionchange'), { oldSubscription: asSubscription(old, null), newSubscription: null });
          // The browser already made the new subscription: no subscribe(), just tell the server.
          await settle(new sw.PushSubscriptionChangeEvent('pushsubscriptionchange'), { oldSubscription: asSubscription(fresh, new ArrayBuffer(65)), newSubscription: asSubscription(rotated, null) });
        } finally {
          proto.subscribe = real;
        }
        return seen;
      },
      { old, fresh, rotated },
    );
    assert.deepEqual(keys, [serverKey], 'subscribed once, with the server’s VAPID key');
    const stored = storedEndpoints();
    assert.ok(stored.includes(rotated.endpoint), 'the rotated subscription is stored');
    assert.ok(!stored.includes(old.endpoint) && !stored.includes(fresh.endpoint), 'the replaced endpoints are dropped');
    assert.equal((await api(server.url, 'DELETE', '/api/push/subscriptions', { endpoint: rotated.endpoint })).status, 204);
  });

  describe('the bell in the top bar', () => {
    let phone: BrowserContext;
    let consoleWatch: ConsoleWatch;

    before(async () => {
      phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, permissions: ['notifications'] });
      phone.setDefaultTimeout(60_000);
      consoleWatch = watchConsole(phone);
    });

    const fits = async (page: Page, what: string) => {
      assert.equal(await horizontalOverflow(page), 0, `${what}: no horizontal scrolling`);
      assert.deepEqual(await smallTapTargets(page), [], `${what}: every tap target is at least 44 px`);
    };

    it('turns notifications on, or says inline why the browser could not', async () => {
      const page = await openApp(phone);
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 60_000 });
      const bell = page.locator('.push-bell');
      await page.locator('.push-bell[data-push="off"]').waitFor();
      await bell.tap();
      await page.locator('#push-panel [data-push-text="off"]').waitFor();
      await fits(page, 'push panel');
      consoleWatch.allow(INCOGNITO_PUSH);
      const stored = storedEndpoints();
      await page.locator('[data-action="push-on"]').tap();
      await page.locator('.push-bell[data-push="on"], .push-error').first().waitFor();
      if (await page.locator('.push-error').isVisible()) {
        // Headless Chromium has no push service: a clear message, nothing half-done.
        assert.match(await page.locator('.push-error').innerText(), /push service refused a subscription/);
        assert.equal(await bell.getAttribute('data-push'), 'off');
        assert.equal(await page.evaluate(async () => (await navigator.serviceWorker.ready).pushManager.getSubscription().then((s) => s === null)), true);
        assert.deepEqual(storedEndpoints(), stored);
      } else {
        const endpoint = await page.evaluate(async () => (await (await navigator.serviceWorker.ready).pushManager.getSubscription())?.endpoint);
        assert.ok(endpoint && storedEndpoints().includes(endpoint), 'the server stored the subscription');
        await page.locator('[data-action="push-off"]').tap();
        await page.locator('.push-bell[data-push="off"]').waitFor();
        assert.deepEqual(storedEndpoints(), stored);
      }
      await fits(page, 'push panel with an error');
      await screenshot(page, 'dashboard-push');
      assert.deepEqual(consoleWatch.errors(), []);
      await page.close();
    });

    it('with a stand-in push service: on stores the subscription on the server, a reload sends it again, off removes it', async () => {
      const sub = fakeSubscriptionJson('phone');
      const page = await phone.newPage();
      await page.addInitScript({ content: NAME_SHIM });
      // Stand in for the push service before the app's scripts run: subscribe() hands out `sub`.
      // It keeps the subscription's key in sessionStorage, so a reload finds it like a browser would.
      await page.addInitScript((json) => {
        const make = (key: number[]) =>
          ({
            endpoint: json.endpoint,
            options: { applicationServerKey: new Uint8Array(key).buffer, userVisibleOnly: true },
            toJSON: () => json,
            unsubscribe: async () => {
              sessionStorage.removeItem('stand-in-key');
              return true;
            },
          }) as unknown as PushSubscription;
        const proto = PushManager.prototype;
        proto.getSubscription = async () => {
          const saved = sessionStorage.getItem('stand-in-key');
          return saved ? make(JSON.parse(saved) as number[]) : null;
        };
        proto.subscribe = async (opts?: PushSubscriptionOptionsInit) => {
          const key = opts?.applicationServerKey;
          const bytes = [...(ArrayBuffer.isView(key) ? new Uint8Array(key.buffer, key.byteOffset, key.byteLength) : new Uint8Array(key as ArrayBuffer))];
          sessionStorage.setItem('stand-in-key', JSON.stringify(bytes));
          return make(bytes);
        };
      }, sub);
      await page.goto(server.url);
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 60_000 });
      await page.locator('.push-bell[data-push="off"]').tap();
      await page.locator('[data-action="push-on"]').tap();
      await page.locator('.push-bell[data-push="on"]').waitFor();
      assert.ok(storedEndpoints().includes(sub.endpoint), 'the server stored the subscription');
      await page.locator('#push-panel [data-push-text="on"]').waitFor();

      // A server that lost the subscription gets it back the next time the app opens.
      assert.equal((await api(server.url, 'DELETE', '/api/push/subscriptions', { endpoint: sub.endpoint })).status, 204);
      await page.reload();
      await page.locator('.push-bell[data-push="on"]').waitFor();
      await poll('the subscription sent again', async () => (storedEndpoints().includes(sub.endpoint) ? true : undefined));
      await page.locator('.push-bell').tap();
      await page.locator('[data-action="push-off"]').tap();
      await page.locator('.push-bell[data-push="off"]').waitFor();
      assert.ok(!storedEndpoints().includes(sub.endpoint), 'the server forgot it');
      assert.equal(await page.locator('.push-error').count(), 0);
      assert.deepEqual(consoleWatch.errors(), []);
      await page.close();
    });

    it('explains how to allow notifications again once they are blocked', async () => {
      const blocked = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      const watch = watchConsole(blocked);
      try {
        const page = await openApp(blocked);
        await page.locator('.push-bell[data-push="off"]').tap();
        // Headless Chromium answers the permission prompt with "Block".
        await page.locator('[data-action="push-on"]').tap();
        await page.locator('.push-bell[data-push="denied"]').waitFor();
        assert.match(await page.locator('#push-panel [data-push-text="denied"]').innerText(), /blocked for this site.*Notifications → Allow/s);
        assert.equal(await page.locator('[data-action="push-on"]').count(), 0);
        assert.deepEqual(watch.errors(), []);
      } finally {
        await blocked.close();
      }
    });

    it('says push needs HTTPS or localhost on a page that is not a secure context', async () => {
      const url = server.url.replace('127.0.0.1', INSECURE_HOST);
      const page = await openApp(phone, url);
      assert.equal(await page.evaluate(() => window.isSecureContext), false);
      await page.locator('.push-bell[data-push="insecure"]').tap();
      assert.match(await page.locator('#push-panel [data-push-text="insecure"]').innerText(), /HTTPS.*localhost/s);
      await fits(page, 'insecure push panel');
      assert.deepEqual(consoleWatch.errors(), []);
      await page.close();
    });
  });
});
