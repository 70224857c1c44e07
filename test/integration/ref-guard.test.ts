/**
 * The ref guard against real repositories and worktrees (no server): what an
 * agent can do to the refs from inside its worktree, with git or by writing
 * the files, is undone after the turn; the job's own branch is kept; a change
 * made after the check, or by CodePlane itself, is not undone; and no hook the
 * agent planted runs while the guard repairs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { RefGuard, type ContainmentAlarm } from '../../supervisor/refguard/ref-guard.ts';
import { compareRefs } from '../../supervisor/refguard/ref-compare.ts';
import { restoreRefs } from '../../supervisor/refguard/ref-restore.ts';
import { locate, takeRefSnapshot } from '../../supervisor/refguard/ref-snapshot.ts';
import { git, makeRepo } from '../helpers/git-repo.ts';

const BRANCH = 'codeplane/job-1';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Fixture {
  repo: string;
  wt: string;
  jobDir: string;
  guard: RefGuard;
  alarms: ContainmentAlarm[];
  warnings: string[];
  job: { id: string; repo: string; worktreePath: string; branch: string };
  /** Runs a shell command as the agent would: in the worktree. */
  agent(cmd: string): void;
  commitInWorktree(msg: string): string;
}

function fixture(): Fixture {
  const repo = makeRepo('cpl-refguard-');
  git(repo, 'branch', 'feature');
  git(repo, 'tag', 'v1');
  const root = mkdtempSync(join(tmpdir(), 'cpl-refguard-wt-'));
  dirs.push(repo, root);
  const wt = join(root, 'wt');
  git(repo, 'worktree', 'add', '-q', '-b', BRANCH, wt, 'main');
  const jobDir = join(root, 'job');
  const alarms: ContainmentAlarm[] = [];
  const warnings: string[] = [];
  const guard = new RefGuard({ jobDir: () => jobDir, alarm: async (_id, a) => void alarms.push(a), warn: (_id, m) => void warnings.push(m) });
  const env = { ...process.env, GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@a', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@a' };
  return {
    repo, wt, jobDir, guard, alarms, warnings,
    job: { id: 'job-1', repo, worktreePath: wt, branch: BRANCH },
    agent: (cmd) => void execFileSync('/bin/sh', ['-c', cmd], { cwd: wt, env, stdio: 'pipe' }),
    commitInWorktree(msg) {
      writeFileSync(join(wt, `${msg}.txt`), msg);
      git(wt, 'add', '.');
      git(wt, 'commit', '-q', '-m', msg);
      return git(wt, 'rev-parse', 'HEAD');
    },
  };
}

const rev = (cwd: string, ref: string): string => git(cwd, 'rev-parse', ref);
const refExists = (cwd: string, ref: string): boolean => {
  try {
    git(cwd, 'rev-parse', '--verify', '--quiet', ref);
    return true;
  } catch {
    return false;
  }
};

describe('ref guard: attacks from inside the worktree are undone after the turn', () => {
  let f: Fixture;
  beforeEach(() => {
    f = fixture();
  });

  it('writing the common dir\'s refs/heads/main from node -e: main is put back, the job\'s commit is kept', async () => {
    const main = rev(f.repo, 'main');
    await f.guard.beginTurn(f.job);
    const mine = f.commitInWorktree('work');
    f.agent(`node -e "const d=require('child_process').execSync('git rev-parse --git-common-dir').toString().trim(); require('fs').writeFileSync(require('path').resolve(d,'refs/heads/main'), '${mine}\\n')"`);
    assert.equal(rev(f.repo, 'main'), mine, 'the attack really moved main');
    await f.guard.endTurn(f.job.id);
    assert.equal(rev(f.repo, 'main'), main);
    assert.equal(rev(f.repo, BRANCH), mine, "the job's own commit stays on its branch");
    assert.equal(f.alarms.length, 1);
    assert.deepEqual(f.alarms[0]!.changes, [{ ref: 'refs/heads/main', change: 'moved', before: main, after: mine, undone: true }]);
  });

  it('git update-ref main, symbolic-ref HEAD in the main repo, branch -D, a new tag: all undone in one alarm', async () => {
    const main = rev(f.repo, 'main');
    const feature = rev(f.repo, 'feature');
    await f.guard.beginTurn(f.job);
    const mine = f.commitInWorktree('work');
    f.agent(`git update-ref refs/heads/main ${mine}`);
    f.agent(`git --git-dir="$(git rev-parse --git-common-dir)" symbolic-ref HEAD refs/heads/evil`);
    f.agent('git branch -D feature');
    f.agent('git tag evil-tag');
    assert.equal(readFileSync(join(f.repo, '.git', 'HEAD'), 'utf8').trim(), 'ref: refs/heads/evil');
    await f.guard.endTurn(f.job.id);
    assert.equal(rev(f.repo, 'main'), main);
    assert.equal(readFileSync(join(f.repo, '.git', 'HEAD'), 'utf8'), 'ref: refs/heads/main\n');
    assert.equal(rev(f.repo, 'feature'), feature);
    assert.equal(refExists(f.repo, 'refs/tags/evil-tag'), false);
    assert.equal(rev(f.repo, BRANCH), mine);
    const changes = f.alarms[0]!.changes;
    assert.deepEqual(changes.map((c) => `${c.change} ${c.ref} ${c.undone}`), ['moved HEAD true', 'deleted refs/heads/feature true', 'moved refs/heads/main true', 'created refs/tags/evil-tag true']);
    assert.match(f.alarms[0]!.message, /4 ref\(s\).*4 undone/);
  });

  it("checking out another branch in the worktree: its HEAD goes back to the job's branch, the new branch is removed", async () => {
    await f.guard.beginTurn(f.job);
    f.agent('git checkout -q -b elsewhere');
    await f.guard.endTurn(f.job.id);
    assert.equal(git(f.wt, 'symbolic-ref', 'HEAD'), `refs/heads/${BRANCH}`);
    assert.equal(refExists(f.repo, 'refs/heads/elsewhere'), false);
    assert.deepEqual(f.alarms[0]!.changes.map((c) => `${c.change} ${c.ref}`), ['created refs/heads/elsewhere', 'moved worktree:HEAD']);
  });

  it('garbage written into a loose ref and into the repository HEAD (git then ignores the ref and denies the repo): both repaired', async () => {
    const main = rev(f.repo, 'main');
    await f.guard.beginTurn(f.job);
    f.agent(`d="$(git rev-parse --git-common-dir)"; echo garbage > "$d/refs/heads/main"; echo garbage > "$d/HEAD"`);
    assert.throws(() => git(f.repo, 'rev-parse', 'main'), 'the attack really broke the checkout');
    await f.guard.endTurn(f.job.id);
    assert.equal(readFileSync(join(f.repo, '.git', 'HEAD'), 'utf8'), 'ref: refs/heads/main\n');
    assert.equal(rev(f.repo, 'main'), main);
    assert.ok(f.alarms[0]!.changes.every((c) => c.undone), JSON.stringify(f.alarms[0]!.changes));
  });

  it('a packed ref moved by rewriting packed-refs is caught like a loose one', async () => {
    git(f.repo, 'pack-refs', '--all');
    const main = rev(f.repo, 'main');
    await f.guard.beginTurn(f.job);
    const mine = f.commitInWorktree('packed');
    f.agent(`d="$(git rev-parse --git-common-dir)"; sed -i "s/^${main} refs\\/tags\\/v1$/${mine} refs\\/tags\\/v1/" "$d/packed-refs"`);
    assert.equal(rev(f.repo, 'v1'), mine, 'the attack really moved the packed tag');
    await f.guard.endTurn(f.job.id);
    assert.equal(rev(f.repo, 'v1'), main);
  });

  it('a loose ref replaced by a symlink to a file outside the repository: restored as a plain ref, the outside file untouched', async () => {
    const main = rev(f.repo, 'main');
    await f.guard.beginTurn(f.job);
    const mine = f.commitInWorktree('linked');
    const outside = join(f.jobDir, '..', 'precious.txt');
    writeFileSync(outside, `${mine}\n`);
    f.agent(`d="$(git rev-parse --git-common-dir)"; rm -f "$d/refs/heads/main"; ln -s '${outside}' "$d/refs/heads/main"`);
    assert.equal(rev(f.repo, 'main'), mine, 'the attack really moved main through the link');
    await f.guard.endTurn(f.job.id);
    assert.equal(rev(f.repo, 'main'), main);
    assert.equal(readFileSync(outside, 'utf8'), `${mine}\n`, 'the file the link pointed at was not written');
    assert.equal(lstatSync(join(f.repo, '.git', 'refs', 'heads', 'main')).isSymbolicLink(), false, 'the ref is a plain file again');
  });

  it('the repository HEAD replaced by a symlink to a file outside: restored, the outside file untouched', async () => {
    await f.guard.beginTurn(f.job);
    const outside = join(f.jobDir, '..', 'precious-head.txt');
    writeFileSync(outside, 'ref: refs/heads/evil\n');
    f.agent(`d="$(git rev-parse --git-common-dir)"; rm -f "$d/HEAD"; ln -s '${outside}' "$d/HEAD"`);
    await f.guard.endTurn(f.job.id);
    assert.equal(readFileSync(join(f.repo, '.git', 'HEAD'), 'utf8'), 'ref: refs/heads/main\n');
    assert.equal(lstatSync(join(f.repo, '.git', 'HEAD')).isSymbolicLink(), false);
    assert.equal(readFileSync(outside, 'utf8'), 'ref: refs/heads/evil\n', 'the file the link pointed at was not written');
  });

  it('garbage appended to packed-refs (every git command then fails): packed-refs is put back, the other changes are undone, the alarm says so', async () => {
    git(f.repo, 'pack-refs', '--all');
    const main = rev(f.repo, 'main');
    await f.guard.beginTurn(f.job);
    f.agent(`git update-ref refs/heads/main ${f.commitInWorktree('blind')}; echo 'garbage line' >> "$(git rev-parse --git-common-dir)/packed-refs"`);
    assert.throws(() => git(f.repo, 'for-each-ref'), 'the attack really broke git in the repository');
    await f.guard.endTurn(f.job.id);
    assert.equal(rev(f.repo, 'main'), main);
    assert.doesNotMatch(readFileSync(join(f.repo, '.git', 'packed-refs'), 'utf8'), /garbage/);
    assert.deepEqual(f.alarms[0]!.changes.map((c) => `${c.change} ${c.ref} ${c.undone}`), ['moved packed-refs true', 'moved refs/heads/main true']);
  });

  it('refs git cannot read and the guard cannot repair (packed-refs locked): an alarm says the turn could not be checked', async () => {
    git(f.repo, 'pack-refs', '--all');
    await f.guard.beginTurn(f.job);
    f.agent(`d="$(git rev-parse --git-common-dir)"; echo 'garbage line' >> "$d/packed-refs"; echo held > "$d/packed-refs.lock"`);
    await f.guard.endTurn(f.job.id);
    assert.equal(f.alarms.length, 1);
    assert.deepEqual(f.alarms[0]!.changes, []);
    assert.match(f.alarms[0]!.message, /could not check the repository's refs after the turn.*packed-refs.*locked/);
    assert.equal(readFileSync(join(f.repo, '.git', 'packed-refs.lock'), 'utf8'), 'held\n', "another command's lock is left alone");
  });

  it("a reference-transaction hook the agent planted does not run while the guard repairs", async () => {
    const marker = join(f.jobDir, '..', 'hook-ran');
    await f.guard.beginTurn(f.job);
    const hooks = join(f.repo, '.git', 'hooks');
    mkdirSync(hooks, { recursive: true });
    writeFileSync(join(hooks, 'reference-transaction'), `#!/bin/sh\ntouch '${marker}'\n`);
    chmodSync(join(hooks, 'reference-transaction'), 0o755);
    f.agent('git tag planted');
    assert.ok(existsSync(marker), 'the planted hook runs under a plain git');
    rmSync(marker, { force: true }); // the agent's own git ran it; only the guard's run matters
    await f.guard.endTurn(f.job.id);
    assert.equal(refExists(f.repo, 'refs/tags/planted'), false, 'the tag was removed');
    assert.equal(existsSync(marker), false, 'the hook did not run');
  });

  it('a flood: 3,000 tags and branches created in one turn are all removed, quickly, and the alarm stays small', { timeout: 120_000 }, async () => {
    await f.guard.beginTurn(f.job);
    f.agent(`h=$(git rev-parse HEAD); i=0; while [ $i -lt 1500 ]; do echo "create refs/tags/flood-$i $h"; echo "create refs/heads/flood/$i $h"; i=$((i+1)); done | git update-ref --stdin`);
    assert.equal(git(f.repo, 'for-each-ref', '--count=5000', '--format=x', 'refs/tags/flood-*', 'refs/heads/flood/').split('\n').length, 3000);
    const t0 = performance.now();
    await f.guard.endTurn(f.job.id);
    const ms = performance.now() - t0;
    assert.equal(git(f.repo, 'for-each-ref', '--format=%(refname)', 'refs/tags/flood-*', 'refs/heads/flood/'), '', 'every flooded ref is gone');
    assert.ok(ms < 30_000, `the undo took ${ms} ms`);
    const a = f.alarms[0]!;
    assert.ok(a.changes.length <= 100, `the alarm lists ${a.changes.length} changes`);
    assert.equal(a.omitted, 2900);
    assert.match(a.message, /3000 ref\(s\).*3000 undone/);
    assert.ok(a.message.length < 20_000, `message of ${a.message.length} characters`);
  });

  it('one ref moved again since the check does not stop the others from being undone (the batch falls back to one by one)', async () => {
    const p = await locate(f.repo, f.wt);
    const before = await takeRefSnapshot(p);
    const agentValue = f.commitInWorktree('agent2');
    git(f.repo, 'update-ref', 'refs/heads/main', agentValue);
    git(f.repo, 'tag', 'evil-1', agentValue);
    git(f.repo, 'tag', 'evil-2', agentValue);
    const changes = compareRefs(before, await takeRefSnapshot(p), BRANCH);
    const userValue = git(f.repo, 'commit-tree', '-p', agentValue, '-m', 'user', `${agentValue}^{tree}`);
    git(f.repo, 'update-ref', 'refs/heads/main', userValue);
    const outcomes = await restoreRefs(p, changes);
    assert.deepEqual(outcomes.map((o) => `${o.change.ref} ${o.undone}`), ['refs/heads/main false', 'refs/tags/evil-1 true', 'refs/tags/evil-2 true']);
    assert.equal(rev(f.repo, 'main'), userValue);
  });

  it('no change, no alarm; the baseline is gone after the turn', async () => {
    await f.guard.beginTurn(f.job);
    f.commitInWorktree('only-mine');
    assert.equal(existsSync(join(f.jobDir, 'ref-baseline.json')), true, 'the baseline is on disk during the turn');
    await f.guard.endTurn(f.job.id);
    assert.deepEqual(f.alarms, []);
    assert.equal(f.guard.watching(f.job.id), false);
    assert.equal(existsSync(join(f.jobDir, 'ref-baseline.json')), false);
  });

  it('a turn that started under a previous supervisor is checked against the baseline on disk', async () => {
    const main = rev(f.repo, 'main');
    await f.guard.beginTurn(f.job);
    const next = new RefGuard({ jobDir: () => f.jobDir, alarm: async (_id, a) => void f.alarms.push(a), warn: () => undefined });
    f.agent(`git update-ref refs/heads/main ${f.commitInWorktree('x')}`);
    await next.endTurn(f.job.id);
    assert.equal(rev(f.repo, 'main'), main);
    assert.equal(f.alarms.length, 1);
  });
});

describe('ref guard: what it must NOT undo', () => {
  let f: Fixture;
  beforeEach(() => {
    f = fixture();
  });

  /** A second job of the same repository, with its own worktree and branch. */
  const secondJob = (): { id: string; repo: string; worktreePath: string; branch: string } => {
    const wt2 = join(f.wt, '..', 'wt2');
    git(f.repo, 'worktree', 'add', '-q', '-b', 'codeplane/job-2', wt2, 'main');
    return { id: 'job-2', repo: f.repo, worktreePath: wt2, branch: 'codeplane/job-2' };
  };
  const commitIn = (wt: string, msg: string): string => {
    writeFileSync(join(wt, `${msg}.txt`), msg);
    git(wt, 'add', '.');
    git(wt, 'commit', '-q', '-m', msg);
    return git(wt, 'rev-parse', 'HEAD');
  };

  it("another job's commits on its own branch during this job's turn are kept (its turn started before or during this one)", async () => {
    const j2 = secondJob();
    const j3 = { id: 'job-3', repo: f.repo, worktreePath: join(f.wt, '..', 'wt3'), branch: 'codeplane/job-3' };
    git(f.repo, 'worktree', 'add', '-q', '-b', j3.branch, j3.worktreePath, 'main');
    await f.guard.beginTurn(j2); // before this job's turn
    await f.guard.beginTurn(f.job);
    await f.guard.beginTurn(j3); // during it
    const c2 = commitIn(j2.worktreePath, 'second');
    const c3 = commitIn(j3.worktreePath, 'third');
    await f.guard.endTurn(j2.id);
    await f.guard.endTurn(j3.id);
    await f.guard.endTurn(f.job.id);
    assert.deepEqual(f.alarms, []);
    assert.equal(rev(f.repo, j2.branch), c2);
    assert.equal(rev(f.repo, j3.branch), c3);
  });

  it("another job's branch moved while that job has no turn is a breach, undone", async () => {
    const j2 = secondJob();
    const before = rev(f.repo, j2.branch);
    await f.guard.beginTurn(f.job);
    f.agent(`git update-ref refs/heads/${j2.branch} ${f.commitInWorktree('hijack')}`);
    await f.guard.endTurn(f.job.id);
    assert.equal(rev(f.repo, j2.branch), before);
    assert.deepEqual(f.alarms[0]!.changes.map((c) => c.ref), [`refs/heads/${j2.branch}`]);
  });

  it("CodePlane's own change during the turn (a merge moving main) is folded in, not undone", async () => {
    await f.guard.beginTurn(f.job);
    const landed = git(f.repo, 'commit-tree', '-p', 'main', '-m', 'landed', `${rev(f.repo, 'main')}^{tree}`);
    await f.guard.ownChange(f.repo, (ref) => ref === 'refs/heads/main', async () => void git(f.repo, 'update-ref', 'refs/heads/main', landed));
    await f.guard.endTurn(f.job.id);
    assert.equal(rev(f.repo, 'main'), landed);
    assert.deepEqual(f.alarms, []);
  });

  it("an agent's change to another ref in the same moment as CodePlane's own is still caught", async () => {
    const feature = rev(f.repo, 'feature');
    await f.guard.beginTurn(f.job);
    await f.guard.ownChange(f.repo, (ref) => ref === 'refs/heads/main', async () => {
      f.agent(`git update-ref refs/heads/feature ${f.commitInWorktree('sneak')}`);
    });
    await f.guard.endTurn(f.job.id);
    assert.equal(rev(f.repo, 'feature'), feature);
    assert.equal(f.alarms.length, 1);
  });

  it('compare-and-swap: a ref moved again after the check (the user, in their checkout) is left alone and the alarm says so', async () => {
    const p = await locate(f.repo, f.wt);
    const before = await takeRefSnapshot(p);
    const agentValue = f.commitInWorktree('agent');
    git(f.repo, 'update-ref', 'refs/heads/main', agentValue);
    const afterTurn = await takeRefSnapshot(p);
    const changes = compareRefs(before, afterTurn, BRANCH);
    // The user commits on main between the check and the undo.
    const userValue = git(f.repo, 'commit-tree', '-p', agentValue, '-m', 'user', `${agentValue}^{tree}`);
    git(f.repo, 'update-ref', 'refs/heads/main', userValue);
    const outcomes = await restoreRefs(p, changes);
    assert.equal(rev(f.repo, 'main'), userValue, "the user's newer value is kept");
    assert.equal(outcomes[0]!.undone, false);
  });

  it('compare-and-swap on HEAD: retargeted again after the check, left alone', async () => {
    const p = await locate(f.repo, f.wt);
    const before = await takeRefSnapshot(p);
    git(f.repo, 'symbolic-ref', 'HEAD', 'refs/heads/evil');
    const changes = compareRefs(before, await takeRefSnapshot(p), BRANCH);
    git(f.repo, 'symbolic-ref', 'HEAD', 'refs/heads/feature');
    const outcomes = await restoreRefs(p, changes);
    assert.equal(git(f.repo, 'symbolic-ref', 'HEAD'), 'refs/heads/feature');
    assert.deepEqual(outcomes.map((o) => o.undone), [false]);
  });

  it('HEAD.lock held by a running git command: the guard backs off and leaves the lock', async () => {
    const p = await locate(f.repo, f.wt);
    const before = await takeRefSnapshot(p);
    git(f.repo, 'symbolic-ref', 'HEAD', 'refs/heads/evil');
    const changes = compareRefs(before, await takeRefSnapshot(p), BRANCH);
    writeFileSync(join(f.repo, '.git', 'HEAD.lock'), 'theirs');
    const outcomes = await restoreRefs(p, changes);
    assert.equal(outcomes[0]!.undone, false);
    assert.equal(readFileSync(join(f.repo, '.git', 'HEAD.lock'), 'utf8'), 'theirs');
  });
});
