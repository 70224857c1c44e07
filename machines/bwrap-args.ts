/**
 * THE sandbox policy: what an agent CLI's process tree (and everything it runs) sees of the
 * filesystem. One pure function, facts in, bubblewrap argv out; the facts are gathered by
 * workers/sandbox/sandbox-facts.ts and checked for existence there, so this file decides and nothing else.
 *
 * The boundary, in the order bubblewrap applies it (later mounts cover earlier ones):
 *  1. the whole filesystem read-only; fresh /dev and /proc; a private /tmp and /var/tmp, over
 *     which the agent CLI's own files are bound back read-only when they live there (CodePlane
 *     installed or cloned under /tmp: without them the CLI could not even start);
 *  2. hidden (an empty tmpfs over a directory, /dev/null over a file): CodePlane's home and
 *     its worktrees root (the database, the auth token, other jobs' worktrees and homes), the
 *     user's secret directories, the user's own agent configuration when the job does not load it;
 *  3. git: the repository's common dir read-only (its config, hooks, HEAD, packed-refs and every
 *     other ref), then writable exactly what a commit from the job's worktree writes: the object
 *     store, the worktree's own admin dir `worktrees/<name>` (index, logs) with its HEAD, its
 *     pointers to the repository and its per-worktree config pinned read-only (so the worktree
 *     cannot be switched onto `main` nor pointed at another repository), and the directory that holds
 *     the job's branch ref plus its reflog directory, only when that directory is the job's alone;
 *  4. the job's worktree (read-only in observe_only), its own agent home writable.
 * Network is NOT unshared: the agent has to reach its model API (docs/security.md).
 */

export type HiddenKind = 'dir' | 'file';

export interface GitLayout {
  /** The repository's common git dir (`<repo>/.git`). */
  commonDir: string;
  /** The job worktree's admin dir (`<commonDir>/worktrees/<name>`). */
  adminDir: string;
  /**
   * Files of the admin dir pinned read-only inside its writable bind: `HEAD` (the worktree
   * cannot be switched onto another branch), `commondir` and `gitdir` (where git, the server's
   * included, looks for the repository), `config.worktree` (per-worktree config: hooks, filters).
   */
  pinned: string[];
  /**
   * The directory holding the job's branch ref (`<commonDir>/refs/heads/codeplane/<id>`) and its
   * reflog directory, set only when no other ref lives there: git writes a ref by creating
   * `<ref>.lock` next to it and renaming it over, so the directory, not the file, must be writable.
   */
  ownRef?: { refDir: string; logDir: string };
  /**
   * `<commonDir>/objects/info`, pinned read-only inside the writable object store: its
   * `alternates` would make the user's git (and the server's) read objects from wherever an
   * agent points it, for good. A commit never writes there.
   */
  objectsInfo?: string;
}

export interface SandboxFacts {
  /** The job's worktree (a real path). */
  worktree: string;
  /** observe_only: the worktree itself is read-only too. */
  readOnlyWorktree: boolean;
  /** Absent when the worktree's repository could not be laid out: git then cannot write at all. */
  git?: GitLayout;
  /** Writable directories of the job's own (its agent home: sessions, the login copy). */
  writable: string[];
  /** Paths to hide that exist on the host, with their kind (tmpfs over a dir, /dev/null over a file). */
  hidden: Array<{ path: string; kind: HiddenKind }>;
  /**
   * Directories of the agent CLI's own files (its executable, the script node runs, their package)
   * that the private /tmp or /var/tmp would hide: bound read-only over it, before anything is hidden.
   */
  programs?: string[];
  /** The directory the command starts in. */
  cwd: string;
  /**
   * Variables set inside the sandbox: where tools keep caches and temporary files, pointed at
   * places the agent may write (its home is read-only: `npm install` would fail on `~/.npm`).
   */
  setenv?: Array<[name: string, value: string]>;
}

/** The options every sandbox gets, before any mount. */
const BASE = [
  // The sandbox (and all it runs) dies with the worker's child handle; no orphan keeps writing.
  '--die-with-parent',
  // A new session: the agent's commands cannot push input into a terminal (TIOCSTI).
  '--new-session',
  // Its own pid namespace: it sees and signals only its own processes; when its first process
  // exits, the kernel kills everything left inside.
  '--unshare-pid',
  '--unshare-ipc',
  '--unshare-uts',
  '--unshare-cgroup-try',
];

/** The bubblewrap arguments (everything before the command) for one agent CLI. */
export function bwrapArgs(f: SandboxFacts): string[] {
  const a: string[] = [...BASE, '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', '--tmpfs', '/var/tmp'];
  for (const p of f.programs ?? []) a.push('--ro-bind', p, p);
  for (const h of f.hidden) {
    if (h.kind === 'dir') a.push('--tmpfs', h.path);
    else a.push('--ro-bind', '/dev/null', h.path);
  }
  if (f.git) {
    const g = f.git;
    a.push('--ro-bind', g.commonDir, g.commonDir);
    a.push('--bind', `${g.commonDir}/objects`, `${g.commonDir}/objects`);
    if (g.objectsInfo) a.push('--ro-bind', g.objectsInfo, g.objectsInfo);
    a.push('--bind', g.adminDir, g.adminDir);
    for (const p of g.pinned) a.push('--ro-bind', p, p);
    if (g.ownRef) a.push('--bind', g.ownRef.refDir, g.ownRef.refDir, '--bind', g.ownRef.logDir, g.ownRef.logDir);
  }
  a.push(f.readOnlyWorktree ? '--ro-bind' : '--bind', f.worktree, f.worktree);
  for (const w of f.writable) a.push('--bind', w, w);
  for (const [name, value] of f.setenv ?? []) a.push('--setenv', name, value);
  a.push('--chdir', f.cwd);
  return a;
}

/** `bwrap <args> -- <command> <args…>`: the `--` ends bubblewrap's options whatever the command is named. */
export function sandboxedCommand(bwrap: string, facts: SandboxFacts, command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: bwrap, args: [...bwrapArgs(facts), '--', command, ...args] };
}
