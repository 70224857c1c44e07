import type { TranscriptEntry } from '../../machines/domain-events.ts';

const MAX_ENTRIES = 30;
const MAX_CHARS = 400;

const clip = (s: string) => (s.length > MAX_CHARS ? `${s.slice(0, MAX_CHARS)}…` : s);

/**
 * The first message of a fresh agent session when the old one cannot be
 * resumed: the task, what happened so far (newest last), and what to do now.
 * `recent` is newest first, as the transcript endpoint returns it.
 */
export function resumeSummary(prompt: string, recent: readonly TranscriptEntry[], instruction?: string): string {
  const lines = recent
    .slice(0, MAX_ENTRIES)
    .reverse()
    .map((e) => {
      switch (e.role) {
        case 'agent':
          return e.text ? `- You said: ${clip(e.text)}` : undefined;
        case 'operator':
          return e.text ? `- The user said: ${clip(e.text)}` : undefined;
        case 'tool_call':
          return `- You used ${e.toolName ?? 'a tool'}: ${clip(JSON.stringify(e.toolInput ?? {}))}`;
        case 'tool_result':
          return `- Result${e.toolSuccess === false ? ' (failed)' : ''}: ${clip(e.toolOutput ?? '')}`;
        case 'system':
        case 'reasoning':
        case 'agent_delta':
          return undefined;
      }
    })
    .filter((l): l is string => l !== undefined);
  return [
    'You are continuing a coding task in this working tree. Your previous session could not be restored, so here is a summary.',
    '',
    `The task: ${prompt}`,
    '',
    lines.length ? `What happened so far (oldest first):\n${lines.join('\n')}` : 'Nothing was recorded before the session was lost.',
    '',
    instruction?.trim() ? `Now: ${instruction.trim()}` : 'Check the current state of the files and continue the task.',
  ].join('\n');
}
