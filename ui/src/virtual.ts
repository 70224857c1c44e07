/** Pure windowing math for the virtual list: prefix offsets and binary search. */

/** offsets[i] = top of item i; offsets[n] = total height. */
export function buildOffsets(n: number, heightOf: (i: number) => number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) out[i + 1] = out[i]! + heightOf(i);
  return out;
}

/** The index of the item containing y (clamped to [0, n-1]; 0 when empty). */
export function indexAt(offsets: Float64Array, y: number): number {
  const n = offsets.length - 1;
  if (n <= 0) return 0;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid]! <= y) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The half-open range of items to render for a viewport, with overscan in pixels. */
export function visibleRange(offsets: Float64Array, top: number, height: number, overscan: number): [number, number] {
  const n = offsets.length - 1;
  if (n <= 0) return [0, 0];
  const start = indexAt(offsets, Math.max(0, top - overscan));
  const end = Math.min(n, indexAt(offsets, top + height + overscan) + 1);
  return [start, end];
}
