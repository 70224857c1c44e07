import type { Arg } from './shell-commands.ts';
import { harmlessSetting } from './shell-env.ts';
import { cloneState, type Cwd, type ShellState } from './shell-expand.ts';
import { optionSpec, walkLeadingOptions, type OptionSpec } from './shell-options.ts';
import { joinArgs, runShell, type Fact, type Runner, type Stdin } from './shell-runners.ts';

/**
 * Commands that run the command given as their arguments (env, sudo,
 * timeout, nice, flock, unshare…), and how to find it: their options (an
 * option a wrapper is not known to have means the policy cannot tell where
 * the command starts, so it asks), operands before the command, options that
 * change directory, carry a script, or write a file.
 */
export interface WrapperSpec {
  opts: OptionSpec;
  /** Operands before the command (timeout's duration, flock's lock file, chroot's root). */
  before: number;
  chdirOpts?: readonly string[];
  /** Options whose value is a shell script (`su -c`, `flock -c`, `env -S`, `script -c`). */
  scriptOpts?: readonly string[];
  /** Options whose value is a file the wrapper writes. */
  outputOpts?: readonly string[];
  /** Options after which there is no command (`command -v x` only looks it up). */
  lookupOpts?: readonly string[];
  /** `NAME=value` words before the command are environment settings. */
  assigns?: boolean;
  /** Without a command it starts a shell that reads its input (unshare, script). */
  shellWithoutCommand?: boolean;
}

const o = (n: string): OptionSpec => optionSpec(n);
export const WRAPPERS: ReadonlyMap<string, WrapperSpec> = new Map<string, WrapperSpec>([
  ['env', {
    opts: o('-i --ignore-environment -0 --null -u= --unset= -C= --chdir= -S= --split-string= -v --debug --block-signal? --default-signal? --ignore-signal? --list-signal-handling'),
    before: 0, chdirOpts: ['-C', '--chdir'], scriptOpts: ['-S', '--split-string'], assigns: true,
  }],
  ['sudo', {
    opts: o(`-A -b -E -e -H -i -K -k -l -n -P -S -s -V -v -u= -g= -h= -p= -C= -D= -r= -t= -U= -T= -R= --askpass --background
      --preserve-env? --edit --set-home --host= --login --remove-timestamp --reset-timestamp --list --non-interactive --preserve-groups
      --stdin --shell --version --validate --user= --group= --prompt= --close-from= --chdir= --role= --type= --other-user=
      --command-timeout= --chroot=`),
    before: 0, chdirOpts: ['-D', '--chdir'], assigns: true,
  }],
  ['doas', { opts: o('-n -s -u= -C='), before: 0 }],
  ['su', { opts: o('-c= --command= -s= --shell= -g= -G= --group= --supp-group= -l --login -m -p --preserve-environment -P --pty -w= --whitelist-environment='), before: 0, scriptOpts: ['-c', '--command'] }],
  ['nice', { opts: o('# -n= --adjustment='), before: 0 }],
  ['nohup', { opts: o(''), before: 0 }],
  ['time', { opts: o('-p -v -q -a -f= --format= -o= --output= --portability --verbose --quiet --append'), before: 0, outputOpts: ['-o', '--output'] }],
  ['command', { opts: o('-p -v -V'), before: 0, lookupOpts: ['-v', '-V'] }],
  ['builtin', { opts: o(''), before: 0 }],
  ['exec', { opts: o('-c -l -a='), before: 0 }],
  ['timeout', { opts: o('-s= --signal= -k= --kill-after= --preserve-status --foreground -v --verbose'), before: 1 }],
  ['stdbuf', { opts: o('-i= -o= -e= --input= --output= --error='), before: 0 }],
  ['ionice', { opts: o('-c= -n= -p= -P= -u= -t --class= --classdata= --pid= --pgid= --uid= --ignore'), before: 0 }],
  ['setsid', { opts: o('-c -f -w --ctty --fork --wait'), before: 0 }],
  ['taskset', { opts: o('-a -p -c --all-tasks --pid --cpu-list'), before: 1 }],
  ['chronic', { opts: o('-e -v'), before: 0 }],
  ['unbuffer', { opts: o('-p'), before: 0 }],
  ['caffeinate', { opts: o('-d -i -m -s -u -t= -w='), before: 0 }],
  ['busybox', { opts: o(''), before: 0 }],
  ['flock', {
    opts: o('-s -x -u -n -w= -E= -c= -o -F --shared --exclusive --unlock --nonblock --timeout= --conflict-exit-code= --command= --close --no-fork --verbose'),
    before: 1, scriptOpts: ['-c', '--command'],
  }],
  ['strace', { opts: o('-f -c -C -d -D -h -i -k -q -r -t -T -v -V -w -x -y -z -Z -a= -b= -e= -I= -o= -O= -p= -P= -s= -S= -u= -E= -X='), before: 0, outputOpts: ['-o'] }],
  ['chroot', { opts: o('--userspec= --groups= --skip-chdir'), before: 1 }],
  ['unshare', {
    opts: o(`-m? -u? -i? -n? -p? -U? -C? -T? -f -r -c -l -R= -w= -S= -G= --mount? --uts? --ipc? --net? --pid? --user? --cgroup? --time?
      --fork --kill-child? --mount-proc? --map-root-user --map-current-user --map-user= --map-group= --map-users= --map-groups= --map-auto
      --owner= --propagation= --setgroups= --keep-caps --setuid= --setgid= --root= --wd= --monotonic= --boottime= --load-interp=`),
    before: 0, chdirOpts: ['-w', '--wd'], shellWithoutCommand: true,
  }],
  ['script', {
    opts: o('-c= --command= -a -e -f -q -t? -T= -B= -I= -O= -m= -E= --append --return --flush --quiet --timing? --log-io= --log-in= --log-out= --log-timing= --logging-format= --echo= --force'),
    before: 0, scriptOpts: ['-c', '--command'], outputOpts: ['-T', '-B', '-I', '-O', '--log-io', '--log-in', '--log-out', '--log-timing'], shellWithoutCommand: true,
  }],
]);

/** Wrappers whose command runs in this shell (`command cd x`), not in a child process. */
const SHARED_SHELL = new Set(['command', 'builtin', 'exec']);

export function runWrapper(w: Runner, name: string, spec: WrapperSpec, args: Arg[], st: ShellState, fact: Fact, stdin: Stdin, cwds: Cwd[]): boolean {
  const lead = walkLeadingOptions(spec.opts, args, { assigns: spec.assigns ?? false });
  if (lead.unknown !== undefined) {
    w.opaque(fact.text, `${name} is given ${lead.unknown}, an option the policy does not know, so where its command starts is unknown`);
    fact.readOnly = false;
    return false;
  }
  if (lead.values.some((v) => spec.lookupOpts?.includes(v.opt))) return false; // `command -v x`: a lookup, nothing runs
  let here = cwds;
  let script: Arg | undefined;
  for (const { opt, value } of lead.values) {
    if (spec.chdirOpts?.includes(opt)) {
      w.path(value, 'cwd', here);
      here = w.chdir(here, value);
    }
    if (spec.outputOpts?.includes(opt)) {
      w.path(value, 'write', here);
      fact.readOnly = false;
    }
    if (spec.scriptOpts?.includes(opt)) script = value;
  }
  for (const a of lead.assigns) {
    const eq = a.text.indexOf('=');
    const key = a.text.slice(0, eq);
    if (!harmlessSetting(key, { text: a.text.slice(eq + 1), glob: false })) {
      w.opaque(fact.text, `${name} sets ${key} for the command it runs; a variable can make a program run another one (GIT_EXTERNAL_DIFF, LD_PRELOAD, PAGER…), and the policy cannot judge ${key}`);
    }
  }
  let i = lead.end;
  // env reads NAME=value words (and `-`, an old spelling of -i) after `--` too.
  for (; name === 'env' && i < args.length; i++) {
    const a = args[i];
    if (!a || a.unknown || !(a.text === '-' || /^[A-Za-z_][A-Za-z0-9_]*=/.test(a.text))) break;
    const key = a.text === '-' ? '-i' : a.text.slice(0, a.text.indexOf('='));
    if (a.text === '-' || !harmlessSetting(key, { text: a.text.slice(a.text.indexOf('=') + 1), glob: false }))
      w.opaque(fact.text, `env changes the environment of the command it runs (${key}), which the policy cannot judge`);
  }
  for (let k = 0; k < spec.before && i < args.length; k++, i++) {
    const a = args[i];
    if (a && name === 'flock') w.path(a, 'write', here);
    if (a && name === 'chroot') w.path(a, 'read', here);
  }
  let inner = args.slice(i);
  // `flock FILE -c 'command'`: the script comes after the lock file.
  if (name === 'flock' && (inner[0]?.text === '-c' || inner[0]?.text === '--command')) {
    script = inner[1];
    inner = [];
  }
  if (name === 'env' && (inner.length > 0 || script)) {
    // env runs its command with a changed environment and its own PATH lookup: not a read-only use.
    fact.readOnly = false;
    fact.why ??= 'it runs a command through env';
    const changes = lead.values.map((v) => v.opt).filter((x) => x !== '-0' && x !== '--null');
    if (changes.length > 0) w.opaque(fact.text, `env changes the environment of the command it runs (${changes[0]}), which the policy cannot judge`);
  }
  if (script) {
    if (name === 'env') w.opaque(fact.text, 'env -S splits a string into a command line by its own rules, which the policy does not follow exactly');
    // su -c / flock -c / script -c run the script; env -S splits its string into the command's first words.
    const text = name === 'env' ? joinArgs([script, ...inner]) : script;
    const s = cloneState(st);
    s.cwds = here;
    w.nested(text, s, fact);
    return false;
  }
  if (inner.length === 0) {
    if (spec.shellWithoutCommand) return runShell(w, [], st, fact, stdin, here);
    if (name !== 'env' && name !== 'command' && name !== 'builtin' && name !== 'exec' && name !== 'time') fact.readOnly = false;
    return false;
  }
  return w.run(inner, SHARED_SHELL.has(name) ? st : cloneState(st), fact, stdin, here);
}
