import { signal } from '@preact/signals';

/** Wall-clock milliseconds, ticking once a second: elapsed times and "3 min ago" read it. */
export const now = signal(Date.now());
setInterval(() => (now.value = Date.now()), 1000);
