/**
 * One operation at a time per key, in arrival order; different keys run concurrently. Used to
 * keep `git worktree add/remove/move/prune` of one repository from interleaving: a prune that runs
 * while another job's worktree is being added deletes the new worktree's admin directory before
 * git has written its first file into it ("could not open '.git/worktrees/<id>/locked'").
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    // Forget the key once its queue is empty, so the map does not grow with every repository ever seen.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with an operation running or waiting (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
