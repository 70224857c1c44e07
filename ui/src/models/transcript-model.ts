import { batch, signal } from '@preact/signals';
import type { Approval, TranscriptEntry } from '../../../api/contract.ts';
import { api, errorText } from '../api.ts';

export type TItem =
  | { kind: 'prompt'; key: string; text: string }
  | { kind: 'entry'; key: string; entry: TranscriptEntry }
  | { kind: 'tool'; key: string; toolCallId?: string; call?: TranscriptEntry; result?: TranscriptEntry }
  | { kind: 'approval'; key: string; approvalId: string }
  | { kind: 'note'; key: string; text: string; tone: 'info' | 'error' | 'success' };

/** Entries per page: the snapshot holds the latest 500; older pages come from the transcript endpoint. */
export const PAGE_SIZE = 500;

const isTool = (e: TranscriptEntry) => e.role === 'tool_call' || e.role === 'tool_result';

function toItem(e: TranscriptEntry): TItem {
  if (!isTool(e)) return { kind: 'entry', key: `e${e.seq}`, entry: e };
  const base = { kind: 'tool' as const, key: `t${e.seq}`, ...(e.toolCallId ? { toolCallId: e.toolCallId } : {}) };
  return e.role === 'tool_call' ? { ...base, call: e } : { ...base, result: e };
}

/** Appends entries (ascending) to items, pairing each tool result with its call. */
function appendAll(items: TItem[], entries: readonly TranscriptEntry[]): void {
  for (const e of entries) {
    if (e.role === 'agent_delta') continue;
    if (e.role === 'tool_result' && e.toolCallId) {
      const at = findCall(items, e.toolCallId);
      const prev = at >= 0 ? items[at] : undefined;
      if (prev?.kind === 'tool' && !prev.result) {
        items[at] = { ...prev, result: e };
        continue;
      }
    }
    items.push(toItem(e));
  }
}

function findCall(items: readonly TItem[], toolCallId: string, limit = 2000): number {
  for (let i = items.length - 1, n = 0; i >= 0 && n < limit; i--, n++) {
    const it = items[i]!;
    if (it.kind === 'tool' && it.toolCallId === toolCallId && it.call) return i;
  }
  return -1;
}

/**
 * One job's transcript: the items the list renders, the agent text being
 * streamed (agent_delta accumulates here until the final agent entry), and
 * paging of older entries, newest first from the server.
 */
export class TranscriptModel {
  readonly items = signal<readonly TItem[]>([]);
  readonly streaming = signal('');
  readonly hasOlder = signal(false);
  readonly loadingOlder = signal(false);
  readonly olderError = signal<string | null>(null);
  /** Bumped when items are added before the first one (the list keeps its scroll anchor). */
  readonly prepended = signal(0);
  /** Keys of the tool calls and reasoning blocks the user expanded (survives virtualization). */
  readonly expanded = signal<ReadonlySet<string>>(new Set());
  private oldestSeq: number | undefined;

  toggle(key: string): void {
    const next = new Set(this.expanded.value);
    if (!next.delete(key)) next.add(key);
    this.expanded.value = next;
  }

  constructor(
    private readonly jobId: string,
    private readonly prompt: string,
  ) {}

  reset(entries: readonly TranscriptEntry[]): void {
    const items: TItem[] = [];
    appendAll(items, entries);
    this.oldestSeq = entries[0]?.seq;
    const more = entries.length >= PAGE_SIZE;
    batch(() => {
      this.hasOlder.value = more;
      this.items.value = more ? items : [this.promptItem(), ...items];
      this.streaming.value = '';
    });
  }

  add(entry: TranscriptEntry): void {
    if (entry.role === 'agent_delta') {
      this.streaming.value += entry.text ?? '';
      return;
    }
    const items = [...this.items.value];
    appendAll(items, [entry]);
    batch(() => {
      if (entry.role === 'agent' || entry.role === 'tool_call') this.streaming.value = '';
      this.items.value = items;
    });
  }

  addItem(item: TItem): void {
    if (this.items.value.some((i) => i.key === item.key)) return;
    this.items.value = [...this.items.value, item];
  }

  /** Puts answered approvals after the tool call they were about (same command or path), when it is loaded. */
  placeAnswered(approvals: readonly Approval[]): void {
    const items = [...this.items.value];
    const taken = new Set<TItem>();
    const shown = new Set(items.flatMap((i) => (i.kind === 'approval' ? [i.approvalId] : [])));
    for (const a of [...approvals].sort((x, y) => x.requestedAt.localeCompare(y.requestedAt))) {
      if (!a.resolution || shown.has(a.id)) continue;
      const at = items.findIndex((it) => it.kind === 'tool' && !taken.has(it) && !!it.call && sameTarget(a, it.call.toolInput));
      if (at < 0) continue;
      taken.add(items[at]!);
      items.splice(at + 1, 0, { kind: 'approval', key: `a${a.id}`, approvalId: a.id });
    }
    this.items.value = items;
  }

  /** Fetches the page before the oldest loaded entry and puts it in front. */
  async loadOlder(): Promise<void> {
    if (!this.hasOlder.value || this.loadingOlder.value) return;
    this.loadingOlder.value = true;
    try {
      const page = await api.transcript(this.jobId, this.oldestSeq, PAGE_SIZE);
      const asc = [...page].reverse();
      const older: TItem[] = [];
      appendAll(older, asc);
      const rest = [...this.items.value];
      // A result at the top of what we had may belong to a call in this page: the call joins it
      // there (the row keeps its key, so the list's scroll anchor stays valid).
      for (let i = 0; i < Math.min(rest.length, 50); i++) {
        const it = rest[i]!;
        if (it.kind !== 'tool' || it.call || !it.toolCallId) continue;
        const at = findCall(older, it.toolCallId);
        const call = older[at];
        if (call?.kind === 'tool' && !call.result && call.call) {
          rest[i] = { ...it, call: call.call };
          older.splice(at, 1);
        }
      }
      const more = page.length >= PAGE_SIZE;
      if (asc[0]) this.oldestSeq = asc[0].seq;
      batch(() => {
        this.hasOlder.value = more;
        this.items.value = more ? [...older, ...rest] : [this.promptItem(), ...older, ...rest];
        this.prepended.value++;
        this.olderError.value = null;
      });
    } catch (e) {
      this.olderError.value = errorText(e);
    } finally {
      this.loadingOlder.value = false;
    }
  }

  private promptItem(): TItem {
    return { kind: 'prompt', key: 'prompt', text: this.prompt };
  }
}

function sameTarget(a: Approval, input: unknown): boolean {
  if (typeof input !== 'object' || input === null) return false;
  const i = input as Record<string, unknown>;
  const d = a.detail;
  for (const k of ['command', 'file_path', 'path', 'url'] as const) if (typeof d[k] === 'string') return d[k] === i[k];
  return false;
}
