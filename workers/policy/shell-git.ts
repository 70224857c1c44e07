import type { Arg } from './shell-commands.ts';
import { hasFlag, positionals } from './shell-commands.ts';
import { GIT_GLOBAL_FLAGS, GIT_PROGRAM_OPTS, gitNetwork, gitReadOptions } from './shell-git-options.ts';
import { longOptionMatches } from './shell-programs.ts';
import { walkOptions } from './shell-options.ts';
import { gitConfigOverride, gitRules } from './shell-git-rules.ts';

/**
 * What one `git …` invocation means for the permission policy: the hard gate
 * it hits (shell-git-rules.ts has the table), what the policy cannot judge
 * (a program handed to git, a configuration override, an option of git
 * itself it does not know), whether it is read-only (a read-only subcommand
 * used only with options known to be read-only: shell-git-options.ts), and
 * whether it contacts another machine.
 */
export interface GitVerdict {
  /** The subcommand, for messages. */
  sub: string;
  gate?: string;
  /** Reasons the policy cannot judge what this git command runs. */
  opaque: string[];
  readOnly: boolean;
  /** Why it is not read-only, when there is more to say than "it writes". */
  why?: string;
  /** `-C dir` options, in order (each relative to the previous). */
  chdir: Arg[];
  /** Files named by the command that must be inside the worktree. */
  paths: { arg: Arg; role: 'read' | 'write' }[];
  /** It prints file paths, one per line (feeds `xargs` safely). */
  listing: boolean;
}

/** Options whose value is free text, not a path. */
const TEXT_VALUE_OPTS = new Set(['-m', '--message', '--grep', '-S', '-G', '--author', '--committer', '--format', '--pretty', '-e', '--date', '--since', '--until', '--after', '--before']);
const OUTPUT_OPTS = new Set(['-o', '--output', '--output-directory']);
/** Transports that run a command given in the URL. */
const COMMAND_URL = /^(ext|fd)::/i;

export function classifyGit(args: readonly Arg[]): GitVerdict {
  const chdir: Arg[] = [];
  const paths: GitVerdict['paths'] = [];
  const opaque: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (!a || a.unknown) break;
    const t = a.text;
    const next = args[i + 1];
    if (!t.startsWith('-')) break;
    if (t === '-C' && next) {
      chdir.push(next);
      i++;
    } else if (t === '-c' && next) {
      const why = gitConfigOverride(next);
      if (why) opaque.push(why);
      i++;
    } else if (t === '--git-dir' || t === '--work-tree' || t.startsWith('--git-dir=') || t.startsWith('--work-tree=')) {
      const v = t.includes('=') ? valueArg(a, t) : next;
      if (!t.includes('=')) i++;
      if (v) paths.push({ arg: v, role: 'write' });
      opaque.push(`points git at another repository or work tree (${t.replace(/=.*/, '')}), whose configuration and hooks the policy cannot see`);
    } else if (t === '--namespace' || t === '--super-prefix' || t === '--attr-source') {
      if (t !== '--attr-source') opaque.push(`uses git's ${t} option, which the policy does not judge`);
      i++;
    } else if (t.startsWith('--attr-source=') || t.startsWith('--list-cmds=') || GIT_GLOBAL_FLAGS.has(t)) continue;
    else opaque.push(`uses ${t.startsWith('--config-env') ? '--config-env, a configuration override' : t.startsWith('--exec-path=') ? '--exec-path, which chooses the programs git runs' : `${t}, a git option this policy does not know`}`);
  }
  const subArg = args[i];
  const rest = args.slice(i + 1);
  if (!subArg) return { sub: 'git', opaque, readOnly: opaque.length === 0, chdir, paths, listing: false };
  const sub = subArg.text;
  const base = { sub, chdir, listing: false };
  if (subArg.unknown) return { ...base, opaque, gate: `the git subcommand is only known when it runs (${subArg.unknown})`, readOnly: false, paths };
  collectPaths(rest, paths);
  const flag = (longs: string[], shorts = ''): boolean => hasFlag(rest, longs, shorts);
  const r = gitRules(sub, rest);
  let readOnly = r.readOnly;
  let why: string | undefined;

  const program = programOption(sub, rest);
  if (program) opaque.push(`hands git ${sub} a program or configuration to use (${program})`);
  const url = rest.find((a) => !a.unknown && COMMAND_URL.test(a.text));
  if (url) opaque.push(`uses a git transport that runs a command (${url.text.slice(0, 40)})`);
  if (gitNetwork(sub, positionals(rest), flag)) {
    readOnly = false;
    why = 'it contacts another machine';
  }
  if (readOnly) {
    const spec = gitReadOptions(sub);
    const unknown = spec ? walkOptions(spec, rest).unknown : ['(no read-only form)'];
    const reads = spec ? walkOptions(spec, rest).reads : [];
    for (const p of reads) paths.push({ arg: p, role: 'read' });
    if (unknown.length > 0) {
      readOnly = false;
      why = `${unknown[0]} is not an option known to be read-only`;
    }
  }
  if (paths.some((p) => p.role === 'write') || opaque.length > 0) readOnly = false;
  const listing = readOnly && isListing(sub, rest);
  const v: GitVerdict = { ...base, opaque, readOnly, paths, listing };
  if (r.gate !== undefined) v.gate = r.gate;
  if (why !== undefined && !readOnly) v.why = why;
  return v;
}

/** The first option of `git <sub>` that names a program (an abbreviation counts: git expands it). */
function programOption(sub: string, rest: readonly Arg[]): string | undefined {
  const p = GIT_PROGRAM_OPTS[sub];
  if (!p) return undefined;
  for (const a of rest) {
    const t = a.text;
    if (a.unknown) continue;
    if (t === '--') break;
    if (t.startsWith('--')) {
      if (longOptionMatches(t, p.longs)) return t.length > 60 ? `${t.slice(0, 59)}…` : t;
    } else if (t.startsWith('-') && t.length > 1 && [...t.slice(1)].some((c) => p.shorts.includes(c))) return t.length > 60 ? `${t.slice(0, 59)}…` : t;
  }
  return undefined;
}

function isListing(sub: string, rest: readonly Arg[]): boolean {
  if (sub === 'ls-files') return true;
  if (sub === 'diff' || sub === 'show' || sub === 'log') return hasFlag(rest, ['--name-only', '--name-status'], '');
  if (sub === 'grep') return hasFlag(rest, ['--files-with-matches', '--name-only', '--files-without-match'], 'lL');
  if (sub === 'ls-tree') return hasFlag(rest, ['--name-only'], '');
  return false;
}

/**
 * git refuses pathspecs outside the repository, so only arguments that could
 * point elsewhere are checked: absolute, `~`, with a `..` component, and the
 * files of output options.
 */
function collectPaths(rest: readonly Arg[], out: GitVerdict['paths']): void {
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a || a.unknown) continue;
    const t = a.text;
    if (TEXT_VALUE_OPTS.has(t)) {
      i++;
      continue;
    }
    if (OUTPUT_OPTS.has(t)) {
      const v = rest[++i];
      if (v) out.push({ arg: v, role: 'write' });
      continue;
    }
    const eq = t.indexOf('=');
    if (t.startsWith('--') && eq > 0) {
      const opt = t.slice(0, eq);
      if (OUTPUT_OPTS.has(opt)) out.push({ arg: valueArg(a, t), role: 'write' });
      else if (!TEXT_VALUE_OPTS.has(opt) && couldEscape(t.slice(eq + 1))) out.push({ arg: valueArg(a, t), role: 'read' });
      continue;
    }
    if (!t.startsWith('-') && couldEscape(t)) out.push({ arg: a, role: 'read' });
  }
}

function couldEscape(t: string): boolean {
  return t.startsWith('/') || t.startsWith('~') || t.split('/').includes('..');
}

function valueArg(a: Arg | undefined, text: string): Arg {
  return { text: text.slice(text.indexOf('=') + 1), glob: a?.glob ?? false };
}
