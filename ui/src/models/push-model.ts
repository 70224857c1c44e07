/**
 * Web Push for this browser: whether it can get notifications, and turning
 * them on (permission → push subscription → POST to the server) and off
 * (unsubscribe → DELETE). The service worker (public/sw-push.js) shows the
 * notifications and renews a subscription the push service rotates.
 */
import { signal } from '@preact/signals';
import { ApiError, api, errorText } from '../api.ts';

/**
 * insecure: push needs HTTPS or localhost; unsupported: no service worker or Push API;
 * denied: the user (or a policy) blocked notifications for this site.
 */
export type PushStatus = 'checking' | 'insecure' | 'unsupported' | 'denied' | 'off' | 'on';

export const pushStatus = signal<PushStatus>('checking');
export const pushBusy = signal(false);
export const pushError = signal<string | undefined>(undefined);
export const pushPanelOpen = signal(false);

/** The service worker registers on page load; a page opened from the dev server never gets one. */
const READY_TIMEOUT_MS = 10_000;

/** The VAPID public key (base64url, as the server sends it) as the bytes PushManager wants. */
export function base64UrlToBytes(s: string): Uint8Array<ArrayBuffer> {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

const sameBytes = (a: ArrayBuffer | null, b: Uint8Array): boolean => {
  if (!a || a.byteLength !== b.length) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
};

function capability(): PushStatus | undefined {
  if (!window.isSecureContext) return 'insecure';
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return 'unsupported';
  return undefined;
}

async function registration(): Promise<ServiceWorkerRegistration> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('The service worker is not running yet: reload the page and try again.')), READY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([navigator.serviceWorker.ready, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the push service said, in words a user can act on. */
function subscribeErrorText(e: unknown): string {
  const msg = errorText(e);
  if (e instanceof DOMException && (e.name === 'AbortError' || e.name === 'NotAllowedError'))
    return `The browser's push service refused a subscription (${msg}). Private windows and browsers without a push service cannot get notifications.`;
  return `Could not turn notifications on: ${msg}`;
}

/** Subscribes with the server's key (replacing a subscription made for another key) and stores it on the server. */
async function subscribe(reg: ServiceWorkerRegistration): Promise<void> {
  const key = base64UrlToBytes((await api.pushKey()).publicKey);
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameBytes(sub.options.applicationServerKey, key)) {
    // Made for a key the server no longer has (vapid.json was regenerated): it can never deliver.
    await sub.unsubscribe();
    sub = null;
  }
  try {
    sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  } catch (e) {
    throw new Error(subscribeErrorText(e));
  }
  try {
    await api.addPushSubscription(sub.toJSON());
  } catch (e) {
    // A subscription the server does not know would show "on" and never ring.
    await sub.unsubscribe().catch(() => undefined);
    throw e;
  }
}

/** Reads the current state; when on, re-sends the subscription so a server that lost or re-keyed it gets it back. */
export async function refreshPush(): Promise<void> {
  const missing = capability();
  if (missing) {
    pushStatus.value = missing;
    return;
  }
  if (Notification.permission === 'denied') {
    pushStatus.value = 'denied';
    return;
  }
  const reg = await navigator.serviceWorker.getRegistration().catch(() => undefined);
  const sub = await reg?.pushManager.getSubscription().catch(() => null);
  pushStatus.value = reg && sub && Notification.permission === 'granted' ? 'on' : 'off';
  if (pushStatus.value !== 'on' || !reg) return;
  try {
    await subscribe(reg);
  } catch (e) {
    pushError.value = errorText(e);
    await refreshStatusOnly(reg);
  }
}

async function refreshStatusOnly(reg: ServiceWorkerRegistration): Promise<void> {
  const sub = await reg.pushManager.getSubscription().catch(() => null);
  pushStatus.value = Notification.permission === 'denied' ? 'denied' : sub ? 'on' : 'off';
}

let started = false;

/** Reads the state once, and again whenever the notification permission changes (e.g. re-allowed in site settings). */
export function initPush(): void {
  if (started) return;
  started = true;
  void refreshPush();
  navigator.permissions
    ?.query({ name: 'notifications' })
    .then((p) => p.addEventListener('change', () => void refreshPush()))
    .catch(() => undefined);
}

async function busy(fn: () => Promise<void>): Promise<void> {
  if (pushBusy.value) return;
  pushBusy.value = true;
  pushError.value = undefined;
  try {
    await fn();
  } catch (e) {
    pushError.value = errorText(e);
  } finally {
    pushBusy.value = false;
  }
}

export function enablePush(): Promise<void> {
  return busy(async () => {
    const permission = await Notification.requestPermission();
    if (permission === 'denied') {
      pushStatus.value = 'denied';
      return;
    }
    if (permission !== 'granted') throw new Error('Notifications were not allowed. Turn them on again and choose “Allow”.');
    const reg = await registration();
    await subscribe(reg);
    pushStatus.value = 'on';
  });
}

export function disablePush(): Promise<void> {
  return busy(async () => {
    const reg = await registration();
    const sub = await reg.pushManager.getSubscription();
    if (!sub) {
      pushStatus.value = 'off';
      return;
    }
    // Off locally first: the push service stops delivering even if the server cannot be told now.
    await sub.unsubscribe();
    pushStatus.value = 'off';
    try {
      await api.removePushSubscription(sub.endpoint);
    } catch (e) {
      if (e instanceof ApiError && e.notFound) return;
      throw new Error(`Notifications are off for this browser, but the server was not told (${errorText(e)}); it forgets this browser the first time a push fails.`);
    }
  });
}

export function togglePushPanel(): void {
  pushPanelOpen.value = !pushPanelOpen.value;
}
