import type { Arg } from './shell-commands.ts';
import { awkProgram, sedScript, type ScriptVerdict } from './shell-awk-sed.ts';
import { optionSpec, walkOptions, type OptionSpec } from './shell-options.ts';

/**
 * Read-only commands: allowed in review_and_approve and observe_only when
 * their paths are inside the worktree. A command is read-only only with the
 * options listed here (a getopt-style walk, shell-options.ts): an option that
 * writes (`sort -o`), runs a program (`sort --compress-program`, `rg --pre`),
 * follows symlinks out (`grep -R`), or that this table simply does not know,
 * makes it not read-only: it asks in review mode and is denied in
 * observe_only. Deliberately absent: less/more/man (pagers with shell
 * escapes), tee, npx, curl/wget (network).
 */
const s = (n: string): OptionSpec => optionSpec(n);

const GREP = s(`# -E -F -G -P -e= -f=path -i -y -v -w -x -c --color? --colour? -L -l -m= -o -q -s -b -H -h --label= -n -T -Z -z
  -A= -B= -C= -a -I -d= -D= -r --include= --exclude= --exclude-from=path --exclude-dir= -U --binary-files= --null-data
  --line-buffered --extended-regexp --fixed-strings --basic-regexp --perl-regexp --regexp= --file=path --ignore-case
  --no-ignore-case --invert-match --word-regexp --line-regexp --count --files-without-match --files-with-matches --max-count=
  --only-matching --quiet --silent --no-messages --byte-offset --with-filename --no-filename --line-number --initial-tab
  --null --after-context= --before-context= --context= --text --directories= --devices= --recursive --binary`);
const SUMS = s('-b -c -t -z -w --binary --check --tag --text --zero --ignore-missing --quiet --status --strict --warn -l= --length=');
const FD = s(`-H -I -u -s -i -g -F -a -l -p -0 -d= -t= -e= -E= -c= -j= -S= -1 --hidden --no-ignore --no-ignore-vcs --unrestricted
  --case-sensitive --ignore-case --glob --regex --fixed-strings --absolute-path --list-details --full-path --print0 --max-depth=
  --min-depth= --exact-depth= --type= --extension= --exclude= --color= --threads= --size= --changed-within= --changed-before=
  --owner= --max-results= --prune --show-errors --base-directory=path --search-path=path --path-separator= --strip-cwd-prefix?
  --ignore-file=path --one-file-system --format=`);
const AWK = s('-F= -v= --field-separator= --assign= --posix --traditional --re-interval --sandbox -S --characters-as-bytes -b -e= --source= -f=path --file=path --csv -k');

const SPECS: Record<string, OptionSpec> = {
  ls: s(`-a -A -b -B -c -C -d -D -f -F -g -G -h -H -i -k -l -L -m -n -N -o -p -q -Q -r -R -s -S -t -u -U -v -x -Z -1 -T= -w=
    -I= -e -O -P -W -@ --all --almost-all --author --escape --block-size= --ignore-backups --color? --directory --dired --classify?
    --file-type --format= --full-time --group-directories-first --no-group --human-readable --si --dereference
    --dereference-command-line --dereference-command-line-symlink-to-dir --hide= --hyperlink? --indicator-style= --inode --ignore=
    --kibibytes --literal --numeric-uid-gid --hide-control-chars --show-control-chars --quote-name --quoting-style= --reverse
    --recursive --size --sort= --time= --time-style= --tabsize= --width= --context --zero --help --version`),
  cat: s('-A -b -e -E -n -s -t -T -u -v --show-all --number-nonblank --number --squeeze-blank --show-ends --show-tabs --show-nonprinting'),
  head: s('# -c= -n= -q -v -z --bytes= --lines= --quiet --silent --verbose --zero-terminated'),
  tail: s('# -c= -n= -f -F -q -v -z -s= -r --bytes= --lines= --follow? --retry --pid= --quiet --silent --verbose --sleep-interval= --max-unchanged-stats= --zero-terminated'),
  wc: s('-c -m -l -L -w --bytes --chars --lines --max-line-length --words --total= --files0-from=path'),
  nl: s('-b= -d= -f= -h= -i= -l= -n= -p -s= -v= -w= --body-numbering= --section-delimiter= --footer-numbering= --header-numbering= --line-increment= --join-blank-lines= --number-format= --no-renumber --number-separator= --starting-line-number= --number-width='),
  tac: s('-b -r -s= --before --regex --separator='),
  rev: s(''),
  fold: s('-b -s -w= --bytes --spaces --width='),
  column: s('-t -s= -o= -c= -x -n -e -J -N= -R= -E= -H= -W= -l= -d -r= -T= -L --table --separator= --output-separator= --output-width= --fillrows --json --table-columns='),
  cut: s('-b= -c= -d= -f= -n -s -z --bytes= --characters= --delimiter= --fields= --complement --only-delimited --output-delimiter= --zero-terminated'),
  paste: s('-d= -s -z --delimiters= --serial --zero-terminated'),
  join: s('-a= -e= -i -j= -o= -t= -v= -1= -2= -z --check-order --nocheck-order --header --ignore-case --zero-terminated'),
  comm: s('-1 -2 -3 -i -z --check-order --nocheck-order --output-delimiter= --total --zero-terminated'),
  tr: s('-c -C -d -s -t --complement --delete --squeeze-repeats --truncate-set1'),
  expand: s('-i -t= --initial --tabs='),
  unexpand: s('-a -t= --all --first-only --tabs='),
  od: s('-A= -j= -N= -S? -t= -v -w? -a -b -c -d -f -i -l -o -s -x -D -O -X -e -F -H -I -L --address-radix= --skip-bytes= --read-bytes= --strings? --format= --output-duplicates --width? --endian= --traditional'),
  hexdump: s('-b -c -C -d -o -x -e= -f=path -n= -s= -v'),
  strings: s('-a -d -f -n= -t= -e= -w -o -s= -T= -U= --all --data --print-file-name --bytes= --radix= --encoding= --include-all-whitespace --output-separator= --unicode='),
  file: s(`-b -c -d -E -e= -F= -f=path -h -i -k -l -L -m=path -N -n -p -P= -r -s -S -v -z -Z -0 --brief --mime --mime-type --mime-encoding
    --keep-going --list --dereference --no-dereference --magic-file=path --exclude= --exclude-quiet= --extension --files-from=path
    --separator= --no-buffer --no-pad --print0 --preserve-date --raw --special-files --uncompress --uncompress-noreport`),
  stat: s('-L -f -c= -t -x -r -s -l -n -F -q --dereference --file-system --format= --printf= --terse --cached='),
  du: s(`-0 -a -b -B= -c -d= -D -h -H -k -l -L -m -P -s -S -t= -x -X=path -A -g --null --all --apparent-size --block-size= --bytes
    --total --max-depth= --dereference-args --human-readable --inodes --dereference --count-links --no-dereference --separate-dirs --si
    --summarize --threshold= --time? --time-style= --exclude-from=path --exclude= --one-file-system --files0-from=path`),
  df: s('-a -B= -h -H -i -k -l -P -t= -T -x= --all --block-size= --human-readable --si --inodes --local --output? --portability --print-type --type= --exclude-type= --total --sync --no-sync'),
  diff: s(`-q -s -c -C= -u -U= -e -n -y -W= -p -F= -t -T -l -r -N -x= -X=path -S= -i -E -Z -b -w -B -I= -a -D= -d -H --brief
    --report-identical-files --context? --unified? --ed --normal --rcs --side-by-side --width= --left-column --suppress-common-lines
    --show-c-function --show-function-line= --label= --expand-tabs --initial-tab --suppress-blank-empty --paginate --recursive
    --no-dereference --new-file --unidirectional-new-file --ignore-file-name-case --no-ignore-file-name-case --exclude=
    --exclude-from=path --starting-file= --from-file=path --to-file=path --ignore-case --ignore-tab-expansion --ignore-trailing-space
    --ignore-space-change --ignore-all-space --ignore-blank-lines --ignore-matching-lines= --text --strip-trailing-cr --ifdef=
    --line-format= --old-line-format= --new-line-format= --unchanged-line-format= --old-group-format= --new-group-format=
    --changed-group-format= --unchanged-group-format= --minimal --horizon-lines= --speed-large-files --color? --palette= --tabsize=`),
  cmp: s('-b -i= -l -n= -s --print-bytes --ignore-initial= --verbose --bytes= --quiet --silent'),
  md5sum: SUMS,
  sha1sum: SUMS,
  sha224sum: SUMS,
  sha256sum: SUMS,
  sha384sum: SUMS,
  sha512sum: SUMS,
  b2sum: SUMS,
  cksum: s('-a= --algorithm= -l= --length= --base64 --raw --tag --untagged -c --check -z --debug'),
  grep: GREP,
  egrep: GREP,
  fgrep: GREP,
  rg: s(`# -e= -f=path -i -s -S -v -w -x -F -P -U -a -c -l -n -N -o -p -q -r= -t= -T= -g= -j= -m= -M= -A= -B= -C= -d= -E= -H -I -u -V
    -z -0 -b --regexp= --file=path --ignore-case --case-sensitive --smart-case --invert-match --word-regexp --line-regexp
    --fixed-strings --pcre2 --multiline --multiline-dotall --text --count --count-matches --files-with-matches --files-without-match
    --line-number --no-line-number --only-matching --pretty --quiet --replace= --type= --type-not= --type-add= --type-clear=
    --type-list --glob= --iglob= --glob-case-insensitive --threads= --max-count= --max-columns= --max-columns-preview --max-depth=
    --max-filesize= --after-context= --before-context= --context= --context-separator= --field-context-separator=
    --field-match-separator= --encoding= --with-filename --no-filename --no-ignore --no-ignore-vcs --no-ignore-dot --no-ignore-global
    --no-ignore-parent --no-ignore-exclude --no-ignore-files --no-ignore-messages --no-messages --hidden --files --sort= --sortr=
    --stats --json --vimgrep --heading --no-heading --column --no-column --color= --colors= --byte-offset --null --null-data --trim
    --unrestricted --binary --block-buffered --line-buffered --crlf --engine= --ignore-file=path --one-file-system --passthru
    --path-separator= --include-zero --no-config --no-unicode --debug --search-zip`),
  fd: FD,
  fdfind: FD,
  pwd: s('-L -P'),
  which: s('-a -s --all --skip-alias --skip-functions'),
  whereis: s('-b -m -s -u -l -f'),
  type: s('-a -f -p -P -t'),
  realpath: s('-e -m -L -P -q -s -z --canonicalize-existing --canonicalize-missing --logical --physical --quiet --relative-to=path --relative-base=path --strip --no-symlinks --zero'),
  readlink: s('-f -e -m -n -q -s -v -z --canonicalize --canonicalize-existing --canonicalize-missing --no-newline --quiet --silent --verbose --zero'),
  basename: s('-a -s= -z --multiple --suffix= --zero'),
  dirname: s('-z --zero'),
  id: s('-a -Z -g -G -n -r -u -z --context --group --groups --name --real --user --zero'),
  uname: s('-a -s -n -r -v -m -p -i -o --all --kernel-name --nodename --kernel-release --kernel-version --machine --processor --hardware-platform --operating-system'),
  whoami: s(''),
  printenv: s('-0 --null'),
  env: s('-0 --null'),
  seq: s('# -f= -s= -w --format= --separator= --equal-width'),
  sleep: s(''),
  wait: s('-n -f -p='),
  jq: s(`-n -r -j -a -s -c -C -M -S -e -R -0 --null-input --raw-input --slurp --raw-output --raw-output0 --join-output --ascii-output
    --compact-output --color-output --monochrome-output --sort-keys --tab --indent= --unbuffered --stream --stream-errors --seq
    -f=path --from-file=path -L=path --arg=2 --argjson=2 --slurpfile=2path --rawfile=2path --args --jsonargs --exit-status`),
  ps: s(`-e -f -A -a -u= -p= -o= -C= -l -F -H -w -x -j -c -d -N -L -T -M -y -Z -U= -G= -g= -t= -q= -s= --forest --sort= --pid=
    --ppid= --format= --cols= --columns= --width= --no-headers --headers --deselect`),
  uptime: s('-p -s --pretty --since'),
  nproc: s('--all --ignore='),
  date: s('-d= --date= -f=path --file=path -I? --iso-8601? -R --rfc-email --rfc-3339= -r=path --reference=path -u --utc --universal -j -n -v='),
  hostname: s('-s -f -d -i -I -a -A -y --short --fqdn --long --domain --ip-address --all-ip-addresses --alias --all-fqdns'),
  sort: s(`-b -d -f -g -i -M -h -n -R -r -V -c -C -k= -m -s -S= -t= -u -z --ignore-leading-blanks --dictionary-order --ignore-case
    --general-numeric-sort --ignore-nonprinting --month-sort --human-numeric-sort --numeric-sort --random-sort --random-source=path
    --reverse --sort= --version-sort --check? --merge --key= --stable --buffer-size= --field-separator= --unique --zero-terminated
    --parallel= --debug --files0-from=path`),
  tree: s(`-a -d -l -f -x -L= -P= -I= -q -N -Q -p -u -g -s -h -D -F -v -t -c -U -r -i -A -S -n -C -X -J --gitignore --ignorecase
    --matchdirs --metafirst --prune --info --infofile=path --noreport --charset= --filelimit= --dirsfirst --filesfirst --si --du
    --timefmt= --inodes --device --sort= --nolinks --fromfile`),
  uniq: s('-c -d -D -f= -i -s= -u -z -w= --count --repeated --all-repeated? --skip-fields= --group? --ignore-case --skip-chars= --unique --zero-terminated --check-chars='),
  xxd: optionSpec(`-a -b -C -E -e -i -p -u -d -h -c= -g= -l= -n= -o= -s= -R= -ps -plain -postscript -autoskip -bits -capitalize
    -include -uppercase -version -cols= -len= -groupsize= -name= -offset= -seek=`, { singleDash: true }),
  sed: s('-n --quiet --silent -e= --expression= -f=path --file=path -E -r --regexp-extended -s --separate -z --null-data -u --unbuffered -l= --line-length= --posix --debug --sandbox -b --binary'),
  awk: AWK,
  gawk: AWK,
  mawk: AWK,
  nawk: AWK,
  tsc: s(`--noEmit -v --version -h --help --pretty -p=path --project=path --skipLibCheck --strict --listFiles --extendedDiagnostics
    --diagnostics --noErrorTruncation --target= --module= --moduleResolution= --lib= --jsx= --types= --allowJs --checkJs
    --esModuleInterop --resolveJsonModule --isolatedModules --noUnusedLocals --noUnusedParameters --noImplicitAny --strictNullChecks
    --exactOptionalPropertyTypes --noUncheckedIndexedAccess --verbatimModuleSyntax --allowImportingTsExtensions --explainFiles
    --traceResolution --showConfig --noImplicitReturns --noFallthroughCasesInSwitch`),
};

/** Toolchains whose only read-only use here is asking for their version (yarn and pnpm are absent: a project's yarnPath or packageManager field makes them run another program). */
const VERSION_ONLY = new Set(['node', 'npm', 'npx', 'bun', 'deno', 'python', 'python3', 'pip', 'pip3', 'cargo', 'rustc', 'go', 'java', 'ruby', 'gcc', 'clang', 'make', 'docker', 'gh']);

/** Commands whose first operand is a pattern or program text, unless one of these options supplies it. */
const PATTERN_SOURCES: Record<string, readonly string[]> = {
  grep: ['-e', '-f', '--regexp', '--file'],
  egrep: ['-e', '-f', '--regexp', '--file'],
  fgrep: ['-e', '-f', '--regexp', '--file'],
  rg: ['-e', '-f', '--regexp', '--file', '--files', '--type-list'],
  sed: ['-e', '-f', '--expression', '--file'],
  awk: ['-f', '--file', '-e', '--source'],
  gawk: ['-f', '--file', '-e', '--source'],
  mawk: ['-f', '--file'],
  nawk: ['-f', '--file'],
  jq: ['-f', '--from-file'],
  fd: [],
  fdfind: [],
};

export interface ReadOnlyCheck {
  readOnly: boolean;
  /** Why not, when the table knows the command but not this use of it. */
  why?: string;
  /** Files the options name (read). */
  reads: Arg[];
  /** The operands that are files (the pattern or program text removed). */
  files: Arg[];
  /** Files that come after `--` (they cannot be taken for options). */
  safeFiles: ReadonlySet<Arg>;
  /** What an awk program or sed script does, when it runs something or touches files. */
  script?: ScriptVerdict;
}

export function hasReadOnlyForm(name: string): boolean {
  return name in SPECS || VERSION_ONLY.has(name);
}

export function checkReadOnly(name: string, args: readonly Arg[]): ReadOnlyCheck {
  const no = (why?: string): ReadOnlyCheck => (why ? { readOnly: false, why, reads: [], files: [], safeFiles: new Set() } : { readOnly: false, reads: [], files: [], safeFiles: new Set() });
  const spec = SPECS[name];
  if (!spec) {
    const t = args.map((a) => a.text);
    if (VERSION_ONLY.has(name) && t.length === 1 && ['--version', '-v', '-V', 'version'].includes(t[0] ?? '')) return { readOnly: true, reads: [], files: [], safeFiles: new Set() };
    if (name === 'npm' && (t[0] === 'ls' || t[0] === 'list') && t.slice(1).every((x) => /^(--all|-a|--depth=\d+|--json|--long|--parseable|--prod|--dev|--omit=\w+)$/.test(x))) return { readOnly: true, reads: [], files: [], safeFiles: new Set() };
    return no();
  }
  const w = walkOptions(spec, args);
  let operands = w.operands;
  let script: ScriptVerdict | undefined;
  const sources = PATTERN_SOURCES[name];
  const supplied = sources !== undefined && w.values.some((v) => sources.includes(v.opt));
  const text = sources !== undefined && !supplied ? operands[0] : undefined;
  if (text) operands = operands.slice(1);
  if (name === 'sed' || name === 'awk' || name === 'gawk' || name === 'mawk' || name === 'nawk') {
    const scripts = [...w.values.filter((v) => ['-e', '--expression', '--source'].includes(v.opt)).map((v) => v.value), ...(text ? [text] : [])];
    const fromFile = w.values.some((v) => ['-f', '--file'].includes(v.opt));
    if (!fromFile && scripts.length === 0) return no();
    for (const sc of scripts) {
      const v: ScriptVerdict = sc.unknown ? { cls: 'unclear', what: `a program only known when it runs (${sc.unknown})` } : name === 'sed' ? sedScript(sc.text) : awkProgram(sc.text);
      if (!script || rank(v) > rank(script)) script = v;
    }
    if (fromFile) return { ...no('its program is read from a file'), ...(script ? { script } : {}) };
  }
  const base: ReadOnlyCheck = { readOnly: true, reads: w.reads, files: operands, safeFiles: new Set(w.operandsAfterDashDash), ...(script ? { script } : {}) };
  if (w.unknown.length > 0) return { ...base, readOnly: false, why: `${w.unknown[0]} is not an option known to be read-only` };
  if (script && script.cls !== 'filters') return { ...base, readOnly: false, why: `its ${name === 'sed' ? 'script' : 'program'} uses ${script.what ?? 'something it cannot judge'}` };
  // Operand counts that write: `uniq in out`, `xxd in out`; `hostname NAME` sets it.
  if ((name === 'uniq' || name === 'xxd') && operands.length > 1) return { ...base, readOnly: false, why: 'its second operand is an output file' };
  if (name === 'hostname' && operands.length > 0) return { ...base, readOnly: false, why: 'it sets the host name' };
  if (name === 'tsc' && !args.some((a) => ['--noEmit', '--version', '-v', '--help', '-h', '--showConfig'].includes(a.text)))
    return { ...base, readOnly: false, why: 'without --noEmit it writes its output' };
  return base;
}

const rank = (v: ScriptVerdict): number => ({ filters: 0, unclear: 1, files: 2, runs: 3 })[v.cls];
