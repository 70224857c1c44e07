import { computed, signal } from '@preact/signals';
import type { EventStream, StreamStatus } from './event-stream.ts';

const streams = signal<readonly EventStream[]>([]);

/** Registers a stream with the connection indicator; returns the unregister function. */
export function trackStream(s: EventStream): () => void {
  streams.value = [...streams.value, s];
  return () => {
    streams.value = streams.value.filter((x) => x !== s);
  };
}

/** The worst state of every open stream: what the connection indicator shows. */
export const connection = computed<StreamStatus>(() => {
  const all = streams.value.map((s) => s.status.value);
  if (all.includes('reconnecting')) return 'reconnecting';
  if (all.length === 0 || all.includes('connecting')) return 'connecting';
  return 'live';
});
