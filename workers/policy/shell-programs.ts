import type { Arg } from './shell-commands.ts';

/**
 * Options whose value is a program, a script, or a configuration that can
 * name one: with them a command the policy can read runs code it cannot
 * (`sort --compress-program=sh`, `rsync -e`, `man -P`, `tar -I`). They ask in
 * every mode, denied in observe_only. This list is the courtesy layer for
 * full_auto; read-only status does not depend on it: a read-only command is
 * read-only only with options known to be read-only (shell-readonly.ts), so
 * an option missing here still asks in review mode and is denied in
 * observe_only. git has its own table (shell-git-options.ts).
 */
const PROGRAM_OPTS: Record<string, { longs: string[]; shorts: string }> = {
  sort: { longs: ['compress-program'], shorts: '' },
  tar: { longs: ['use-compress-program', 'to-command', 'info-script', 'new-volume-script', 'rsh-command', 'checkpoint-action', 'rmt-command'], shorts: 'IF' },
  rsync: { longs: ['rsh', 'rsync-path', 'remote-option'], shorts: 'eM' },
  ssh: { longs: [], shorts: 'F' },
  scp: { longs: [], shorts: 'SF' },
  sftp: { longs: [], shorts: 'SDF' },
  man: { longs: ['pager', 'html', 'config-file'], shorts: 'PHC' },
  less: { longs: ['lesskey-file', 'lesskey-src', 'lesskey-content'], shorts: 'k' },
  rg: { longs: ['pre', 'hostname-bin'], shorts: '' },
  curl: { longs: ['config', 'engine'], shorts: 'K' },
  wget: { longs: ['execute', 'config', 'use-askpass'], shorts: 'e' },
  zip: { longs: ['unzip-command'], shorts: '' },
  diff3: { longs: ['diff-program'], shorts: '' },
  sdiff: { longs: ['diff-program'], shorts: '' },
  hg: { longs: ['config'], shorts: '' },
  tcpdump: { longs: [], shorts: 'z' },
  npm: { longs: ['script-shell', 'node-options', 'userconfig', 'globalconfig', 'call'], shorts: '' },
  pnpm: { longs: ['script-shell', 'node-options', 'config'], shorts: '' },
  yarn: { longs: ['script-shell'], shorts: '' },
};

/** ssh `-o` settings that name no program and no configuration to load. */
const SAFE_SSH_OPTIONS = new Set([
  'stricthostkeychecking', 'userknownhostsfile', 'batchmode', 'connecttimeout', 'connectionattempts', 'serveraliveinterval',
  'serveralivecountmax', 'port', 'user', 'loglevel', 'identitiesonly', 'identityfile', 'compression', 'passwordauthentication',
  'pubkeyauthentication', 'preferredauthentications', 'checkhostip', 'hashknownhosts', 'tcpkeepalive', 'exitonforwardfailure',
  'globalknownhostsfile', 'numberofpasswordprompts', 'requesttty', 'updatehostkeys', 'addressfamily',
]);

/** `--abbrev` for `--abbreviated-option`: GNU getopt and git both expand unambiguous prefixes. */
export function longOptionMatches(t: string, longs: readonly string[]): boolean {
  const eq = t.indexOf('=');
  const name = t.slice(2, eq < 0 ? undefined : eq);
  return name.length >= 2 && longs.some((l) => l === name || l.startsWith(name));
}

/** The first argument that hands `name` a program to run, if any (as written, clipped). */
export function programOption(name: string, args: readonly Arg[]): string | undefined {
  const p = PROGRAM_OPTS[name];
  const clip = (t: string): string => (t.length > 60 ? `${t.slice(0, 59)}…` : t);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a || a.unknown) continue;
    const t = a.text;
    if (t === '--') break;
    if (p && t.startsWith('--') && longOptionMatches(t, p.longs)) return clip(t);
    if (p && /^-[^-]/.test(t) && [...t.slice(1)].some((c) => p.shorts.includes(c))) return clip(t);
    const special = specialProgram(name, t, args[i + 1]);
    if (special) return clip(special);
  }
  return undefined;
}

function specialProgram(name: string, t: string, next: Arg | undefined): string | undefined {
  switch (name) {
    case 'ssh':
    case 'scp':
    case 'sftp':
    case 'autossh':
      // `-o ProxyCommand=…`, `-oLocalCommand=…`, `-o 'KnownHostsCommand …'`.
      if (t === '-o' || (t.startsWith('-o') && t.length > 2)) {
        const v = t === '-o' ? next : { text: t.slice(2), glob: false };
        if (!v || v.unknown) return t;
        const key = (/^\s*([A-Za-z]+)/.exec(v.text)?.[1] ?? '').toLowerCase();
        return SAFE_SSH_OPTIONS.has(key) ? undefined : `-o ${v.text}`;
      }
      return undefined;
    case 'strace':
    case 'ltrace':
      // `-o '|cmd'` / `-o '!cmd'` pipe the trace into a command.
      if (t === '-o' && next && (next.unknown || /^[|!]/.test(next.text))) return `-o ${next.text}`;
      return t.startsWith('-o') && /^-o[|!]/.test(t) ? t : undefined;
    case 'tar':
      // `host:file` archives are reached through rsh, a program tar runs.
      return /^[^/=-][^/]*:/.test(t) ? `${t} (a remote archive)` : undefined;
    case 'less':
      return t.startsWith('+') ? t : undefined;
    case 'zip':
      return t === '-TT' ? t : undefined;
  }
  return undefined;
}
