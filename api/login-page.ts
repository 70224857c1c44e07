/** The login form a browser gets instead of any page while it is not logged in. */
import { inlinePage } from './inline-page.ts';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:22rem;margin:15vh auto;padding:0 1rem;color:#111;background:#fafafa}
h1{font-size:1.3rem}form{display:flex;flex-direction:column;gap:.7rem}input,button{font:inherit;padding:.6rem;border-radius:.4rem;border:1px solid #bbb}
button{background:#1f6feb;color:#fff;border:0;cursor:pointer}#err{color:#b42318;min-height:1.2em}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}input{background:#161b22;color:#e6edf3;border-color:#30363d}}`;

const BODY = `<h1>CodePlane</h1><form id="f"><label for="p">Password</label>
<input id="p" name="password" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button><div id="err" role="alert"></div></form>`;

const SCRIPT = `document.getElementById('f').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = document.getElementById('err');
  err.textContent = '';
  try {
    const res = await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'same-origin',
      body: JSON.stringify({ password: document.getElementById('p').value }) });
    if (res.ok) { location.replace(location.pathname === '/login' ? '/' : location.href); return; }
    const body = await res.json().catch(() => ({}));
    err.textContent = (body.error && body.error.message) || (res.status === 429 ? 'Too many attempts. Try again later.' : 'Login failed.');
  } catch { err.textContent = 'The server cannot be reached.'; }
});`;

export const sendLoginPage = inlinePage('CodePlane: log in', STYLE, BODY, SCRIPT);
