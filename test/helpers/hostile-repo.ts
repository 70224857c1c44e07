import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A repository whose configuration runs programs at every turn, as a husky-style project
 * (and an agent that rewrote its hooks) would have it: `core.hooksPath=.githooks` with every
 * hook committed, a repository-level `core.fsmonitor`, `diff.external`, and filter, textconv,
 * external-diff and merge drivers chosen by `.gitattributes`. Each program appends its name to
 * `log` unless MARK_SKIP is set: the test's own git commands set it, the server's never do, so
 * any line in `log` is a program the server's git ran.
 */
export const HOOKS = [
  'pre-commit', 'prepare-commit-msg', 'commit-msg', 'post-commit', 'post-index-change', 'post-merge', 'post-checkout',
  'pre-merge-commit', 'pre-push', 'reference-transaction', 'pre-auto-gc', 'post-rewrite', 'pre-rebase', 'push-to-checkout',
] as const;

export interface HostileRepo {
  repo: string;
  /** Where each program that ran wrote its name. */
  log: string;
  /** The directory of the programs (outside every repository). */
  bin: string;
  /**
   * git as the test itself runs it: programs do not log (MARK_SKIP), identity from the
   * environment, and the process filter (which fails every file) off.
   */
  userGit: (cwd: string, ...args: string[]) => string;
  /** git with nothing switched off and no MARK_SKIP: the control that the programs are live. */
  plainGit: (cwd: string, ...args: string[]) => string;
  /** Lines of the log so far. */
  ran: () => string[];
  /** A program that logs `name` (and exits `code`), for configuring more of them. */
  program: (name: string, body?: string) => string;
}

const identity = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };

export function hostileRepo(prefix = 'cpl-hostile-'): HostileRepo {
  const root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  const repo = join(root, 'repo');
  const bin = join(root, 'bin');
  const log = join(root, 'ran.log');
  mkdirSync(repo);
  mkdirSync(bin);
  const cleanEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.toUpperCase().startsWith('GIT_')) env[k] = v;
    return { ...env, ...identity };
  };
  const userGit = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'filter.p.process=', '-c', 'filter.p.required=false', ...args], { cwd, encoding: 'utf8', env: { ...cleanEnv(), MARK_SKIP: '1' }, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const plainGit = (cwd: string, ...args: string[]) => {
    const env = cleanEnv();
    delete env['MARK_SKIP'];
    return execFileSync('git', args, { cwd, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  };
  const program = (name: string, body = '') => {
    const p = join(bin, name);
    writeFileSync(p, `#!/bin/sh\n[ -n "$MARK_SKIP" ] || echo ${name} >> '${log}'\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };

  userGit(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), '# hostile\n');
  writeFileSync(join(repo, 'shared.txt'), 'one\ntwo\nthree\nfour\nfive\n');
  writeFileSync(join(repo, 'blob.dat'), 'data\n');
  writeFileSync(join(repo, '.gitattributes'), '*.txt filter=f diff=x merge=m\n*.dat filter=p\n');
  mkdirSync(join(repo, '.githooks'));
  for (const h of HOOKS) {
    writeFileSync(join(repo, '.githooks', h), `#!/bin/sh\n[ -n "$MARK_SKIP" ] || echo hook:${h} >> '${log}'\nexit 0\n`);
    chmodSync(join(repo, '.githooks', h), 0o755);
  }
  userGit(repo, 'add', '-A');
  userGit(repo, 'commit', '-qm', 'husky-style project');

  // Configured after the first commit: from here on every git command meets them.
  const cfg = (k: string, v: string) => userGit(repo, 'config', k, v);
  cfg('core.hooksPath', '.githooks');
  cfg('core.fsmonitor', program('fsmonitor', 'exit 1'));
  cfg('diff.external', program('diff-external'));
  cfg('diff.x.textconv', program('textconv', 'cat "$1"'));
  cfg('diff.x.command', program('diff-command'));
  cfg('filter.f.clean', program('filter-clean', 'cat'));
  cfg('filter.f.smudge', program('filter-smudge', 'cat'));
  cfg('filter.f.required', 'true');
  cfg('filter.p.process', program('filter-process', 'exit 1'));
  cfg('merge.m.driver', `${program('merge-driver', 'exit 1')} %O %A %B`);
  cfg('core.sshCommand', program('ssh-command', 'exit 1'));

  const ran = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  return { repo, log, bin, userGit, plainGit, ran, program };
}
