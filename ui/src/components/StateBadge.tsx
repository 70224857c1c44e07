import type { JobState } from '../../../api/contract.ts';
import { STATE_LABEL } from '../format.ts';

export function StateBadge({ state }: { state: JobState }) {
  const live = state === 'running' || state === 'preparing';
  return (
    <span class={`badge state-${state}`} data-state={state}>
      {live && <span class="pulse" aria-hidden="true" />}
      {STATE_LABEL[state]}
    </span>
  );
}
