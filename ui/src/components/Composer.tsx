import { useSignal } from '@preact/signals';
import type { Job } from '../../../api/contract.ts';
import type { JobModel } from '../models/job-model.ts';

const CAN_MESSAGE = ['running', 'waiting_for_approval', 'review'];
const CAN_RESUME = ['failed', 'canceled'];

/** Follow-up messages to the agent (Ctrl/⌘+Enter sends); on a stopped job the text resumes it. */
export function Composer({ model, job }: { model: JobModel; job: Job }) {
  const text = useSignal('');
  const canSend = CAN_MESSAGE.includes(job.state);
  const canResume = CAN_RESUME.includes(job.state);
  if (!canSend && !canResume) return null;
  const busy = model.busy.value;
  const submit = async (e?: Event) => {
    e?.preventDefault();
    const content = text.value.trim();
    if (!content || busy) return;
    const ok = canSend ? await model.send(content) : await model.resume(content);
    if (ok) text.value = '';
  };
  return (
    <form class="composer" onSubmit={submit}>
      <label for="composer-input" class="sr-only">{canSend ? 'Message the agent' : 'Instruction for resuming'}</label>
      <textarea
        id="composer-input"
        rows={1}
        value={text.value}
        placeholder={canSend ? (job.state === 'review' ? 'Ask the agent for changes…' : 'Message the agent…') : 'Resume with an instruction…'}
        onInput={(e) => {
          text.value = e.currentTarget.value;
          const el = e.currentTarget;
          el.style.height = 'auto';
          el.style.height = `${Math.min(el.scrollHeight, 200)}px`;
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) void submit();
        }}
      />
      <button type="submit" class="btn primary" disabled={!text.value.trim() || !!busy} title="Send (Ctrl+Enter)">
        {busy === 'send' ? 'Sending…' : canSend ? 'Send' : 'Resume'}
      </button>
    </form>
  );
}
