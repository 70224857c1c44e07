/**
 * How long each job has been waiting for an approval, for the scheduler's
 * approval hold (config approvalHoldsSlotSeconds). Measured on the monotonic
 * clock from the moment the supervisor first sees the wait, so moving the
 * wall clock neither frees a slot early nor holds it longer. Only that first
 * sighting uses the wall clock (the age of the job's `updatedAt`, never
 * negative): after a restart there is no monotonic reading to go by.
 */
export class WaitClock {
  /** Per waiting job: the `updatedAt` it was seen with, and when (monotonic) the wait began. */
  private readonly since = new Map<string, { updatedAt: string; began: number }>();

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly wallNow: () => number = () => Date.now(),
  ) {}

  /** Milliseconds the job has waited for approval (0 when it is not waiting). */
  waitedMs(job: { id: string; state: string; updatedAt: string }): number {
    if (job.state !== 'waiting_for_approval') {
      this.since.delete(job.id);
      return 0;
    }
    const seen = this.since.get(job.id);
    if (seen?.updatedAt === job.updatedAt) return this.now() - seen.began;
    const age = Math.max(0, this.wallNow() - Date.parse(job.updatedAt)) || 0;
    this.since.set(job.id, { updatedAt: job.updatedAt, began: this.now() - age });
    return age;
  }

  /** Forgets jobs that no longer hold a slot (resolved, deleted). */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.since.keys()) if (!ids.has(id)) this.since.delete(id);
  }
}
