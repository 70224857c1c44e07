import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where CodePlane keeps its state. Everything lives under one home directory. */
export interface Paths {
  home: string;
  db: string;
  config: string;
  logs: string;
  run: string;
  jobs: string;
  worktrees: string;
  serverInfo: string;
}

export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  const h = env['CODEPLANE_HOME'];
  return resolve(h && h.trim() !== '' ? h : join(homedir(), '.codeplane'));
}

export function pathsFor(home: string, worktreesDir?: string): Paths {
  return {
    home,
    db: join(home, 'codeplane.db'),
    config: join(home, 'config.json'),
    logs: join(home, 'logs'),
    run: join(home, 'run'),
    jobs: join(home, 'jobs'),
    worktrees: worktreesDir ? resolve(home, worktreesDir) : join(home, 'worktrees'),
    serverInfo: join(home, 'run', 'server.json'),
  };
}

/** The job worker's socket. Short on purpose: Unix socket paths are limited to ~107 bytes. */
export const socketPathFor = (paths: Paths, jobId: string): string => join(paths.run, `${jobId}.sock`);
export const jobDirFor = (paths: Paths, jobId: string): string => join(paths.jobs, jobId);
/** Where start-up hygiene moves worktrees it cannot account for (git/quarantine.ts). */
export const quarantineDirFor = (home: string): string => join(home, 'quarantine');
