import { connection } from '../models/connection.ts';

const LABEL = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…' } as const;
const TITLE = {
  live: 'Connected: updates arrive as they happen.',
  connecting: 'Connecting to the server…',
  reconnecting: 'Connection lost. Reconnecting; missed updates will be replayed.',
} as const;

export function ConnectionIndicator() {
  const s = connection.value;
  return (
    <span class={`conn conn-${s}`} role="status" aria-live="polite" title={TITLE[s]} data-connection={s}>
      <span class="conn-dot" aria-hidden="true" />
      <span class="conn-label">{LABEL[s]}</span>
    </span>
  );
}
