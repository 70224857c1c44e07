import type { ContainmentAlarm, ContainmentChange } from '../../machines/domain-events.ts';
import type { RestoreOutcome } from './ref-restore.ts';

/** An agent that made 100,000 refs gets one alarm of a readable size, not a 20 MB event. */
const MAX_LISTED = 100;

const describe = (v: string | undefined): string => (v === undefined ? '(none)' : v.startsWith('ref: ') ? v.slice(5) : v.slice(0, 12));

/** The alarm the user reads: each change (the first MAX_LISTED by name) and what was done about it; totals in the message. */
export function alarmFor(outcomes: readonly RestoreOutcome[]): ContainmentAlarm {
  const changes: ContainmentChange[] = outcomes.map(({ change, ...o }) => ({
    ref: change.ref,
    change: change.kind,
    ...(change.kind !== 'created' ? { before: change.before } : {}),
    ...(change.kind !== 'deleted' ? { after: change.after } : {}),
    undone: o.undone,
    ...(!o.undone ? { reason: o.reason } : {}),
  }));
  const undone = changes.filter((c) => c.undone).length;
  const listed = changes.slice(0, MAX_LISTED);
  const omitted = changes.length - listed.length;
  const list = listed.map((c) => `${c.ref} ${c.change} (${describe(c.before)} → ${describe(c.after)})${c.undone ? ', undone' : `, NOT undone: ${c.reason ?? ''}`}`).join('; ');
  // "During the turn", not "the agent did": without the sandbox, another agent of the same repository or the user may have.
  const message = `During the agent's turn ${changes.length} ref(s) changed outside the job's branch; ${undone} undone: ${list}${omitted ? `; and ${omitted} more` : ''}`;
  return omitted ? { message, changes: listed, omitted } : { message, changes: listed };
}
