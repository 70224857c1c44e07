import type { ContainmentAlarmView, ContainmentChange } from '../../../api/contract.ts';

const short = (v: string | undefined): string => (v === undefined ? 'none' : v.startsWith('ref: ') ? v.slice(5) : v === 'broken' ? 'unreadable' : v.slice(0, 10));
const refName = (ref: string): string => (ref === 'HEAD' ? "the repository's HEAD" : ref === 'worktree:HEAD' ? "the worktree's HEAD" : ref.replace(/^refs\/(heads|tags)\//, ''));

function ChangeLine({ c }: { c: ContainmentChange }) {
  return (
    <li>
      <code>{refName(c.ref)}</code> {c.change} ({short(c.before)} → {short(c.after)}):{' '}
      {c.undone ? <span>undone</span> : <strong>not undone, {c.reason ?? 'unknown reason'}</strong>}
      {c.undone && c.after !== undefined && c.ref.startsWith('refs/') && !c.after.startsWith('ref: ') && c.after !== 'broken' && (
        <> (if that was you: <code>git update-ref {c.ref} {c.after}</code>)</>
      )}
    </li>
  );
}

/**
 * The job page's alarm: after a turn, the ref guard found refs or HEADs
 * changed outside the job's own branch (issue 13). It stays at the top of
 * the page: it is about the user's repository, not only this job.
 */
export function ContainmentAlarms({ alarms }: { alarms: readonly ContainmentAlarmView[] }) {
  if (alarms.length === 0) return null;
  return (
    <section class="banner error containment-alarm" role="alert" data-testid="containment-alarm">
      <strong>Containment alarm.</strong> While this job's agent worked, your repository changed outside the job's branch
      {alarms.length > 1 ? ` (${alarms.length} alarms)` : ''}; what CodePlane found and did:
      {alarms.map((a) => (
        <ul key={a.seq} title={a.ts}>
          {a.changes.length === 0 && <li>{a.message}</li>}
          {a.changes.map((c) => <ChangeLine key={c.ref} c={c} />)}
          {a.omitted ? <li>and {a.omitted} more (listed in the server log)</li> : null}
        </ul>
      ))}
    </section>
  );
}
