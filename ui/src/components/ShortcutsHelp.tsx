import { helpOpen, SHORTCUTS } from '../shortcuts.ts';

export function ShortcutsHelp() {
  if (!helpOpen.value) return null;
  return (
    <div class="overlay" onClick={() => (helpOpen.value = false)}>
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="shortcuts-title" onClick={(e) => e.stopPropagation()}>
        <h2 id="shortcuts-title">Keyboard shortcuts</h2>
        <dl class="shortcuts">
          {SHORTCUTS.map(([k, what]) => (
            <div key={k}>
              <dt><kbd>{k}</kbd></dt>
              <dd>{what}</dd>
            </div>
          ))}
        </dl>
        <button type="button" class="btn" onClick={() => (helpOpen.value = false)}>Close</button>
      </div>
    </div>
  );
}
