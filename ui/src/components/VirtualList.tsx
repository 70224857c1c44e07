import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { buildOffsets, indexAt, visibleRange } from '../virtual.ts';

export interface VirtualListProps<T extends { key: string }> {
  items: readonly T[];
  estimate(item: T): number;
  render(item: T): ComponentChildren;
  /** Called when the user nears the top (to page older items in). */
  onNearTop?(): void;
  class?: string;
  label?: string;
  /** Key of a row that is always first (never used as the scroll anchor). */
  headerKey?: string;
}

const OVERSCAN = 900;
const BOTTOM_SLACK = 48;

/**
 * Renders only the items near the viewport. Heights are measured with a
 * ResizeObserver; the item at the top of the viewport stays put when items
 * above it change size or are prepended, and the list sticks to the bottom
 * while the user is there (new output stays in view).
 */
export function VirtualList<T extends { key: string }>(p: VirtualListProps<T>) {
  const el = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<string, number>());
  const stuck = useRef(true);
  const anchor = useRef<{ key: string; delta: number } | null>(null);
  /** The scrollTop we set ourselves: its scroll event must not move the anchor (it is still estimated). */
  const ours = useRef<number | null>(null);
  const [tick, setTick] = useState(0);
  const [view, setView] = useState({ top: 0, height: 800 });
  const [atBottom, setAtBottom] = useState(true);

  const keyIndex = useMemo(() => new Map(p.items.map((it, i) => [it.key, i])), [p.items]);
  const offsets = useMemo(() => buildOffsets(p.items.length, (i) => heights.current.get(p.items[i]!.key) ?? p.estimate(p.items[i]!)), [p.items, tick]);
  const [start, end] = visibleRange(offsets, view.top, view.height, OVERSCAN);
  const total = offsets[p.items.length] ?? 0;

  const ro = useMemo(
    () =>
      new ResizeObserver((entries) => {
        let changed = false;
        for (const en of entries) {
          const key = (en.target as HTMLElement).dataset['vkey'];
          const h = en.borderBoxSize?.[0]?.blockSize ?? (en.target as HTMLElement).offsetHeight;
          if (key !== undefined && h > 0 && Math.abs((heights.current.get(key) ?? -1) - h) > 0.5) {
            heights.current.set(key, h);
            changed = true;
          }
        }
        if (changed) setTick((t) => t + 1);
      }),
    [],
  );
  useEffect(() => () => ro.disconnect(), [ro]);

  useEffect(() => {
    const node = el.current!;
    const sizeObs = new ResizeObserver(() => setView((v) => ({ ...v, height: node.clientHeight })));
    sizeObs.observe(node);
    return () => sizeObs.disconnect();
  }, []);

  const onScroll = () => {
    const node = el.current!;
    const top = node.scrollTop;
    if (ours.current !== null && Math.abs(top - ours.current) < 1) {
      ours.current = null;
      setView({ top, height: node.clientHeight });
      return;
    }
    ours.current = null;
    stuck.current = node.scrollHeight - top - node.clientHeight < BOTTOM_SLACK;
    let i = indexAt(offsets, top);
    // A header row (the "earlier entries" marker) stays first forever: anchor on the row after it.
    if (p.items[i]?.key === p.headerKey && i + 1 < p.items.length) i++;
    const item = p.items[i];
    anchor.current = item ? { key: item.key, delta: top - offsets[i]! } : null;
    if (atBottom !== stuck.current) setAtBottom(stuck.current);
    setView({ top, height: node.clientHeight });
    if (top < node.clientHeight * 2) p.onNearTop?.();
  };

  useLayoutEffect(() => {
    const node = el.current!;
    if (stuck.current) {
      const bottom = node.scrollHeight - node.clientHeight;
      if (Math.abs(node.scrollTop - bottom) > 1) {
        node.scrollTop = bottom;
        ours.current = node.scrollTop;
      }
    } else if (anchor.current) {
      const i = keyIndex.get(anchor.current.key);
      if (i !== undefined) {
        const desired = offsets[i]! + anchor.current.delta;
        if (Math.abs(node.scrollTop - desired) > 1) {
          node.scrollTop = desired;
          ours.current = node.scrollTop;
        }
      }
    }
    if (node.scrollHeight <= node.clientHeight * 2) p.onNearTop?.();
  });

  const jump = () => {
    stuck.current = true;
    setAtBottom(true);
    el.current!.scrollTop = el.current!.scrollHeight;
  };

  return (
    <div class={`vlist-wrap ${p.class ?? ''}`}>
      <div class="vlist" ref={el} onScroll={onScroll} role="log" aria-label={p.label} tabIndex={0}>
        <div class="vlist-inner" style={{ paddingTop: `${offsets[start] ?? 0}px`, paddingBottom: `${total - (offsets[end] ?? total)}px` }}>
          {p.items.slice(start, end).map((it) => (
            <Row key={it.key} k={it.key} ro={ro}>
              {p.render(it)}
            </Row>
          ))}
        </div>
      </div>
      {!atBottom && (
        <button type="button" class="btn jump" onClick={jump} aria-label="Jump to the latest entry">
          ↓ Latest
        </button>
      )}
    </div>
  );
}

/** One rendered item, measured while it is mounted. */
function Row({ k, ro, children }: { k: string; ro: ResizeObserver; children: ComponentChildren }) {
  const r = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const node = r.current!;
    ro.observe(node);
    return () => ro.unobserve(node);
  }, [ro]);
  return (
    <div ref={r} data-vkey={k} class="vrow">
      {children}
    </div>
  );
}
