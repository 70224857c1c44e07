import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import type { AgentCallbacks } from './adapter.ts';

/** The outcome a `result` message carries; the session decides what it means for the turn. */
export interface ResultInfo {
  isError: boolean;
  text: string;
}

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** tool_result content is a string or content blocks; only the text parts mean something in a transcript. */
function toolOutputText(content: unknown): string {
  if (typeof content === 'string') return content;
  return list(content)
    .map((b) => (rec(b)?.type === 'text' ? (str(rec(b)?.text) ?? '') : ''))
    .filter(Boolean)
    .join('\n');
}

/**
 * Turns SDK messages into transcript entries, session and telemetry callbacks. SDK message
 * shapes drift between versions, so fields are read as `unknown` and checked one by one.
 */
export class ClaudeTranscriptMapper {
  private readonly toolStarts = new Map<string, number>();
  /** Every tool_use id shown, so a block the CLI repeats (a retried message, a replay) appears once. */
  private readonly toolsShown = new Set<string>();
  private sessionId: string | undefined;
  private model: string | undefined;

  constructor(
    private readonly cb: AgentCallbacks,
    private readonly now: () => number = Date.now,
  ) {}

  get agentSessionId(): string | undefined {
    return this.sessionId;
  }

  /** Maps one message; returns the outcome when it is a turn's `result`. */
  map(msg: SDKMessage): ResultInfo | undefined {
    const m: Rec = msg;
    switch (msg.type) {
      case 'stream_event': {
        const ev = rec(m.event);
        const delta = rec(ev?.delta);
        const text = str(delta?.text);
        // Text deltas only: tool_use input (input_json_delta) and thinking deltas are shown whole
        // from the assistant message that completes the block.
        if (ev?.type === 'content_block_delta' && delta?.type === 'text_delta' && text) this.cb.transcript({ role: 'agent_delta', text });
        return undefined;
      }
      case 'assistant':
        for (const block of list(rec(m.message)?.content)) this.assistantBlock(rec(block));
        return undefined;
      case 'user':
        for (const block of list(rec(m.message)?.content)) this.toolResult(rec(block));
        return undefined;
      case 'system':
        if (m.subtype === 'init') this.init(m);
        return undefined;
      case 'result':
        return this.result(m);
      default:
        return undefined;
    }
  }

  private assistantBlock(b: Rec | undefined): void {
    if (!b) return;
    if (b.type === 'text') {
      const text = str(b.text);
      if (text) this.cb.transcript({ role: 'agent', text });
    } else if (b.type === 'thinking') {
      const text = str(b.thinking);
      if (text) this.cb.transcript({ role: 'reasoning', text });
    } else if (b.type === 'tool_use') {
      // Only from the complete assistant message: the stream_event deltas that preceded it
      // (content_block_start + input_json_delta) carry the same call with partial input.
      const id = str(b.id);
      const toolName = str(b.name) ?? 'unknown';
      if (id && this.toolsShown.has(id)) return;
      if (id) {
        this.toolsShown.add(id);
        this.toolStarts.set(id, this.now());
      }
      this.cb.transcript({ role: 'tool_call', toolName, toolInput: b.input, ...(id ? { toolCallId: id } : {}) });
    }
  }

  private toolResult(b: Rec | undefined): void {
    if (b?.type !== 'tool_result') return;
    const id = str(b.tool_use_id);
    const started = id ? this.toolStarts.get(id) : undefined;
    if (id) this.toolStarts.delete(id);
    this.cb.transcript({
      role: 'tool_result',
      toolOutput: toolOutputText(b.content),
      toolSuccess: b.is_error !== true,
      ...(id ? { toolCallId: id } : {}),
      ...(started !== undefined ? { durationMs: this.now() - started } : {}),
    });
  }

  private lastCost = 0;

  private init(m: Rec): void {
    const id = str(m.session_id);
    this.model = str(m.model) ?? this.model;
    // The CLI repeats system/init at every turn; the session only starts once (or when the id changes).
    if (!id || id === this.sessionId) return;
    this.sessionId = id;
    this.cb.sessionStarted({ agentSessionId: id, ...(this.model ? { model: this.model } : {}) });
  }

  private result(m: Rec): ResultInfo {
    const usage = rec(m.usage);
    const model = this.model ?? Object.keys(rec(m.modelUsage) ?? {})[0];
    const cacheRead = num(usage?.cache_read_input_tokens);
    // total_cost_usd is a running total for the session (usage and num_turns are per turn):
    // telemetry events carry this turn's increment so the job can sum them.
    const cost = increment(num(m.total_cost_usd), this.lastCost);
    const turns = num(m.num_turns);
    this.lastCost = num(m.total_cost_usd) ?? this.lastCost;
    this.cb.telemetry({
      inputTokens: num(usage?.input_tokens) ?? 0,
      outputTokens: num(usage?.output_tokens) ?? 0,
      ...(cacheRead !== undefined ? { cacheReadTokens: cacheRead } : {}),
      ...(cost !== undefined ? { costUsd: cost } : {}),
      ...(model ? { model } : {}),
      ...(turns !== undefined ? { turns } : {}),
    });
    // A non-success subtype is a failure even if a CLI ever leaves is_error false.
    const isError = m.is_error === true || m.subtype !== 'success';
    const errors = list(m.errors).map(str).filter((s): s is string => !!s && s.trim() !== '');
    const text = isError ? str(m.result) || errors.join('; ') || String(m.subtype ?? 'error') : (str(m.result) ?? '');
    return { isError, text };
  }
}

/** The growth of a running total; a total that went down (a new process) counts from zero. */
function increment(total: number | undefined, previous: number): number | undefined {
  if (total === undefined) return undefined;
  return total >= previous ? total - previous : total;
}
