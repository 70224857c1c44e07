import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { disablePush, enablePush, initPush, pushBusy, pushError, pushPanelOpen, pushStatus, togglePushPanel, type PushStatus } from '../models/push-model.ts';

const TEXT: Record<PushStatus, ComponentChildren> = {
  checking: 'Checking whether this browser can get notifications…',
  insecure: (
    <>
      Push notifications need a secure page: open CodePlane over HTTPS (for example with <code>cpl up --remote</code>) or on this machine at{' '}
      <code>http://localhost</code>.
    </>
  ),
  unsupported:
    'This browser cannot get push notifications (no service worker or Push API). On an iPhone or iPad, add CodePlane to the Home Screen and open it from there.',
  denied:
    'Notifications are blocked for this site. To allow them, open the site settings (the icon left of the address) → Notifications → Allow, then reload the page.',
  off: 'Get a notification when an agent asks for approval (answer it from the notification), a job is ready for review, or a job fails.',
  on: 'This browser gets a notification when an agent asks for approval, a job is ready for review, or a job fails.',
};

const TITLE: Record<PushStatus, string> = {
  checking: 'Notifications',
  insecure: 'Notifications need HTTPS',
  unsupported: 'Notifications not supported',
  denied: 'Notifications blocked',
  off: 'Notifications are off',
  on: 'Notifications are on',
};

function Bell({ crossed }: { crossed: boolean }) {
  return (
    <svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
      <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
      <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
      {crossed && <path d="M3 3l18 18" />}
    </svg>
  );
}

/** The bell in the top bar and its panel: turn notifications on or off for this browser. */
export function PushToggle() {
  useEffect(initPush, []);
  const s = pushStatus.value;
  const open = pushPanelOpen.value;
  const busy = pushBusy.value;
  const error = pushError.value;
  return (
    <div class="push">
      <button
        type="button"
        class={`btn ghost icon-btn push-bell push-${s}`}
        aria-label={TITLE[s]}
        title={TITLE[s]}
        aria-expanded={open}
        aria-controls="push-panel"
        data-push={s}
        onClick={togglePushPanel}
      >
        <Bell crossed={s !== 'on'} />
      </button>
      {open && (
        <div id="push-panel" class="push-panel" role="dialog" aria-labelledby="push-panel-title" onKeyDown={(e) => e.key === 'Escape' && togglePushPanel()}>
          <div class="push-panel-head">
            <h2 id="push-panel-title">{TITLE[s]}</h2>
            <button type="button" class="btn ghost icon-btn" aria-label="Close" onClick={togglePushPanel}>
              ×
            </button>
          </div>
          <p class="push-text" data-push-text={s}>
            {TEXT[s]}
          </p>
          {s === 'off' && (
            <button type="button" class="btn primary" data-action="push-on" disabled={busy} onClick={() => void enablePush()}>
              {busy ? 'Turning on…' : 'Turn on for this browser'}
            </button>
          )}
          {s === 'on' && (
            <button type="button" class="btn" data-action="push-off" disabled={busy} onClick={() => void disablePush()}>
              {busy ? 'Turning off…' : 'Turn off for this browser'}
            </button>
          )}
          {error && (
            <p class="field-error push-error" role="alert">
              {error}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
