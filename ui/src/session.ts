/**
 * When the server requires a login and ours is gone, any page load shows the
 * server's login form: reloading is all it takes (at most once per 10 s, so a
 * misconfigured server cannot make the page spin).
 */
const KEY = 'cpl.reloadedForLogin';

export function sessionExpired(): void {
  const last = Number(sessionStorage.getItem(KEY) ?? 0);
  if (Date.now() - last < 10_000) return;
  sessionStorage.setItem(KEY, String(Date.now()));
  location.reload();
}

/** After the event stream was refused: is it because we are logged out? */
export async function checkSession(): Promise<void> {
  try {
    const res = await fetch('/api/auth/status', { credentials: 'same-origin' });
    if (!res.ok) return;
    const s = (await res.json()) as { authenticated?: boolean };
    if (s.authenticated === false) sessionExpired();
  } catch {
    /* offline: the stream keeps retrying */
  }
}
