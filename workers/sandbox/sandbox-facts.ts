import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { AgentId, JobSpec } from '../../machines/job-spec.ts';
import type { HiddenKind, SandboxFacts } from '../../machines/bwrap-args.ts';
import { gitLayoutOf } from './git-layout.ts';

/**
 * Secrets in the user's home that no agent needs: credentials of ssh, clouds, package
 * registries, GitHub's CLI, password stores and keyrings. Hidden when they exist. This list is
 * not the boundary (the boundary is that nothing outside the job is writable); it keeps the
 * well-known secrets from being READ and sent out over the shared network.
 */
export const SECRET_HOME_PATHS = [
  '.ssh',
  '.aws',
  '.gnupg',
  '.config/gh',
  '.config/gcloud',
  '.azure',
  '.kube',
  '.docker',
  '.netrc',
  '.git-credentials',
  '.npmrc',
  '.pypirc',
  '.password-store',
  '.local/share/keyrings',
] as const;

/** Each agent's own configuration in the user's home (its directory first): hidden unless the job loads it (then writable). */
export const AGENT_HOME_PATHS: Record<AgentId, readonly [string, ...string[]]> = {
  claude: ['.claude', '.claude.json'],
  copilot: ['.copilot'],
};

/** Host sockets that hand out more than the job should have (the container engine, the user's session bus and agents). */
export const HOST_SOCKETS = ['/run/user', '/var/run/docker.sock', '/run/docker.sock', '/run/podman'] as const;

export interface SandboxInputs {
  spec: JobSpec;
  /** CodePlane's home (database, token, every job's data): hidden but for this job's agent home. */
  codeplaneHome: string;
  /** Where job worktrees live (other jobs' worktrees): hidden but for this job's. */
  worktreesRoot: string;
  /** The user's home as the agent sees it (HOME). */
  userHome: string;
  /** The job's own agent home (created here), writable. */
  agentHome: string;
  /** The job loads the user's own agent configuration: that directory is writable instead of hidden. */
  userConfig: boolean;
  /** The agent's config directory the environment names (CLAUDE_CONFIG_DIR, COPILOT_HOME), if any: treated like its default one. */
  configuredAgentDir?: string;
}

/** Followed through symlinks (a ~/.ssh that links elsewhere is hidden where it points: a file mounted over a directory would fail the sandbox). */
const kindOf = (p: string): HiddenKind | undefined => {
  try {
    return statSync(p).isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
};
const realOr = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

/** The directories the sandbox makes private (bwrap-args.ts): what lives there is hidden from the agent. */
const PRIVATE_DIRS = ['/tmp', '/var/tmp'] as const;
const under = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);

/**
 * The directories of a command's own files that the private /tmp would hide: for each absolute
 * path among the command and its arguments (the CLI, or the script node runs) that lives under a
 * private directory, its directory and its package's root (the nearest directory above it with a
 * package.json, not above the private directory), so the CLI's modules and assets are there.
 */
export function programDirs(command: readonly string[]): string[] {
  const out = new Set<string>();
  for (const arg of command) {
    if (!isAbsolute(arg) || !existsSync(arg)) continue;
    const real = realOr(arg);
    const top = PRIVATE_DIRS.find((d) => under(real, d) && real !== d);
    if (!top) continue;
    const dir = statSync(real).isDirectory() ? real : dirname(real);
    out.add(dir);
    for (let d = dir; d !== top && under(d, top); d = dirname(d)) {
      if (existsSync(join(d, 'package.json'))) {
        out.add(d);
        break;
      }
    }
  }
  // A parent bound after its child would cover it: parents first.
  return [...out].sort((a, b) => a.length - b.length);
}

/** Gathers the facts machines/bwrap-args.ts decides on, from the job and the filesystem (`command`: what will run inside). */
export function sandboxFacts(i: SandboxInputs, command: readonly string[] = []): SandboxFacts {
  mkdirSync(i.agentHome, { recursive: true, mode: 0o700 });
  const worktree = realOr(i.spec.worktreePath);
  const home = realOr(i.userHome);
  const own = [...AGENT_HOME_PATHS[i.spec.agent].map((p) => join(home, p)), ...(i.configuredAgentDir ? [realOr(i.configuredAgentDir)] : [])];
  if (i.userConfig) {
    // The CLI would create its directory on first use; in the read-only home it cannot, so it is made here.
    mkdirSync(i.configuredAgentDir ? realOr(i.configuredAgentDir) : join(home, AGENT_HOME_PATHS[i.spec.agent][0]), { recursive: true, mode: 0o700 });
  }
  const others = (Object.keys(AGENT_HOME_PATHS) as AgentId[]).filter((a) => a !== i.spec.agent).flatMap((a) => AGENT_HOME_PATHS[a].map((p) => join(home, p)));
  const hide = [
    realOr(i.codeplaneHome),
    realOr(i.worktreesRoot),
    ...SECRET_HOME_PATHS.map((p) => join(home, p)),
    ...others,
    ...(i.userConfig ? [] : own),
    ...HOST_SOCKETS,
  ];
  const hidden: SandboxFacts['hidden'] = [];
  for (const path of new Set(hide.map(realOr))) {
    const kind = kindOf(path);
    if (kind) hidden.push({ path, kind });
  }
  const git = gitLayoutOf(i.spec.repoPath, worktree, i.spec.branch);
  const writable = [realOr(i.agentHome), ...(i.userConfig ? own.filter((p) => kindOf(p) !== undefined) : [])];
  return {
    worktree,
    readOnlyWorktree: i.spec.permissionMode === 'observe_only',
    ...(git ? { git } : {}),
    writable,
    hidden,
    programs: programDirs(command),
    cwd: worktree,
    // The home is read-only: caches go to the job's own agent home (kept while the job lives), temporary files to the private /tmp.
    setenv: [
      ['TMPDIR', '/tmp'],
      ['XDG_CACHE_HOME', join(realOr(i.agentHome), 'cache')],
      ['npm_config_cache', join(realOr(i.agentHome), 'cache', 'npm')],
    ],
  };
}
