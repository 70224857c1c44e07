import type { SessionEvent } from '@github/copilot-sdk';
import type { Telemetry } from '../../machines/domain-events.ts';
import type { AgentCallbacks } from './adapter.ts';

/** What an event means for the turn; the session decides what to do with it. */
export type TurnSignal =
  | { type: 'activity' }
  | { type: 'idle'; aborted: boolean }
  | { type: 'error'; message: string };

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  calls: number;
  model?: string;
}
const noUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, calls: 0 });

/**
 * Turns Copilot session events into the same transcript entries as the Claude adapter, and
 * adds up `assistant.usage` (one event per model call, several per user turn) into one
 * telemetry increment per turn. Usage `cost` is a billing multiplier, not dollars: no costUsd.
 * Fields are checked one by one: event payloads drift between runtime versions.
 */
export class CopilotEventMapper {
  private readonly tools = new Map<string, { name: string; startedAt: number }>();
  /** Every tool call shown, so one the runtime reports again appears once in the transcript. */
  private readonly toolsShown = new Set<string>();
  private usage = noUsage();
  private lastMessage: string | undefined;
  /** The model the runtime reports for the session (session.start / session.resume). */
  selectedModel: string | undefined;

  constructor(
    private readonly cb: AgentCallbacks,
    private readonly now: () => number = Date.now,
  ) {}

  toolName(toolCallId: string | undefined): string | undefined {
    return toolCallId === undefined ? undefined : this.tools.get(toolCallId)?.name;
  }

  map(event: SessionEvent): TurnSignal | undefined {
    switch (event.type) {
      case 'session.start':
      case 'session.resume':
        this.selectedModel = str(event.data.selectedModel) ?? this.selectedModel;
        return undefined;
      case 'user.message':
      case 'assistant.turn_start':
        return { type: 'activity' };
      case 'assistant.message_delta': {
        const text = str(event.data.deltaContent);
        if (text) this.cb.transcript({ role: 'agent_delta', text });
        return { type: 'activity' };
      }
      case 'assistant.message': {
        // A tool-only model call carries an empty content; its tools show up as tool.execution_*.
        const text = str(event.data.content);
        if (text && text.trim()) {
          this.cb.transcript({ role: 'agent', text });
          this.lastMessage = text;
        }
        return { type: 'activity' };
      }
      case 'assistant.reasoning': {
        const text = str(event.data.content);
        if (text) this.cb.transcript({ role: 'reasoning', text });
        return { type: 'activity' };
      }
      // A tool call is shown once, from tool.execution_start (complete arguments, and the start
      // of its duration): not from the streamed argument deltas, nor from the toolRequests of
      // the assistant.message that announced it.
      case 'assistant.tool_call_delta':
      case 'tool.execution_partial_result':
      case 'tool.execution_progress':
        return { type: 'activity' };
      case 'tool.execution_start': {
        const id = str(event.data.toolCallId);
        const toolName = str(event.data.toolName) ?? 'unknown';
        if (id && this.toolsShown.has(id)) return { type: 'activity' };
        if (id) {
          this.toolsShown.add(id);
          this.tools.set(id, { name: toolName, startedAt: this.now() });
        }
        this.cb.transcript({ role: 'tool_call', toolName, toolInput: event.data.arguments, ...(id ? { toolCallId: id } : {}) });
        return { type: 'activity' };
      }
      case 'tool.execution_complete': {
        const d = event.data;
        const output = d.success ? str(d.result?.content) : (str(d.error?.message) ?? str(d.result?.content));
        this.toolResult(str(d.toolCallId), output ?? '', d.success === true);
        return { type: 'activity' };
      }
      case 'assistant.usage':
        this.addUsage(event.data);
        return undefined;
      case 'session.idle':
        return { type: 'idle', aborted: event.data.aborted === true };
      case 'session.error':
        return { type: 'error', message: str(event.data.message) || str(event.data.errorType) || 'the Copilot runtime reported an error' };
      default:
        return undefined;
    }
  }

  /** The last assistant text of the turn, for its summary. */
  get summary(): string | undefined {
    return this.lastMessage;
  }

  /**
   * Closes the turn's books: a tool that never completed (the runtime sends no
   * tool.execution_complete for a call it aborted) gets a failed result so no tool stays
   * "running" in the transcript, then the turn's telemetry increment.
   */
  finishTurn(interrupted: boolean): void {
    for (const id of [...this.tools.keys()]) this.toolResult(id, interrupted ? 'Interrupted by user' : 'The tool did not finish', false);
    const u = this.usage;
    this.usage = noUsage();
    this.lastMessage = undefined;
    if (u.calls === 0) return;
    const t: Telemetry = { inputTokens: u.inputTokens, outputTokens: u.outputTokens, cacheReadTokens: u.cacheReadTokens, turns: u.calls };
    const model = u.model ?? this.selectedModel;
    if (model) t.model = model;
    this.cb.telemetry(t);
  }

  private addUsage(d: { model?: unknown; inputTokens?: unknown; outputTokens?: unknown; cacheReadTokens?: unknown }): void {
    this.usage.inputTokens += num(d.inputTokens) ?? 0;
    this.usage.outputTokens += num(d.outputTokens) ?? 0;
    this.usage.cacheReadTokens += num(d.cacheReadTokens) ?? 0;
    this.usage.calls += 1;
    this.usage.model = str(d.model) ?? this.usage.model;
  }

  private toolResult(id: string | undefined, toolOutput: string, toolSuccess: boolean): void {
    const started = id ? this.tools.get(id) : undefined;
    if (id) this.tools.delete(id);
    this.cb.transcript({
      role: 'tool_result',
      toolOutput,
      toolSuccess,
      ...(id ? { toolCallId: id } : {}),
      ...(started ? { durationMs: this.now() - started.startedAt } : {}),
    });
  }
}
