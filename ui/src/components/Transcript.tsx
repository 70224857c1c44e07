import { useMemo } from 'preact/hooks';
import type { JobModel } from '../models/job-model.ts';
import type { TranscriptModel } from '../models/transcript-model.ts';
import { estimate, TranscriptItemView, type ViewItem } from './TranscriptItemView.tsx';
import { VirtualList } from './VirtualList.tsx';

/** The live transcript: a virtual list of items, the older-page marker on top and the streamed text at the bottom. */
export function Transcript({ model, t }: { model: JobModel; t: TranscriptModel }) {
  const items = t.items.value;
  const hasOlder = t.hasOlder.value;
  const streaming = t.streaming.value;
  const view = useMemo<ViewItem[]>(() => {
    const v: ViewItem[] = hasOlder ? [{ kind: 'older', key: 'older' }, ...items] : [...items];
    if (streaming) v.push({ kind: 'streaming', key: 'streaming', text: streaming });
    return v;
  }, [items, hasOlder, streaming]);
  return (
    <VirtualList
      class="transcript"
      label="Transcript"
      items={view}
      headerKey="older"
      estimate={estimate}
      render={(it) => <TranscriptItemView item={it} model={model} t={t} />}
      onNearTop={() => void t.loadOlder()}
    />
  );
}
