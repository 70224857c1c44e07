import type { SDKUserMessage } from '@anthropic-ai/claude-agent-sdk';

/**
 * The prompt stream handed to `query()`. Streaming-input mode keeps one CLI process and
 * session across turns only while this iterable stays open, so it ends only on `end()`.
 */
export class UserMessageQueue implements AsyncIterable<SDKUserMessage> {
  private readonly buffered: SDKUserMessage[] = [];
  private waiter: ((r: IteratorResult<SDKUserMessage>) => void) | undefined;
  private ended = false;

  push(text: string): void {
    if (this.ended) return;
    const msg: SDKUserMessage = { type: 'user', message: { role: 'user', content: text }, parent_tool_use_id: null };
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter({ value: msg, done: false });
    } else {
      this.buffered.push(msg);
    }
  }

  end(): void {
    this.ended = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<SDKUserMessage> {
    return {
      next: () => {
        const msg = this.buffered.shift();
        if (msg) return Promise.resolve({ value: msg, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiter = resolve));
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
