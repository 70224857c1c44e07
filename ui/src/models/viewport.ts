import { signal } from '@preact/signals';

const query = matchMedia('(max-width: 760px)');

/** True on phone-sized screens (the split diff view and side file list give way there). */
export const narrow = signal(query.matches);
query.addEventListener('change', (e) => (narrow.value = e.matches));
