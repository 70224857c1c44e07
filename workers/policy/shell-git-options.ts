import { mergeSpecs, optionSpec, type OptionSpec } from './shell-options.ts';

/**
 * The options known to keep each read-only git subcommand read-only. A
 * subcommand used with any other option is not read-only (it asks in review
 * mode): `--output`, `--ext-diff`, `-O` of grep, `--upload-pack` are simply
 * absent, and so is whatever a future git adds. git accepts `--no-<flag>` for
 * its flags, and abbreviations of long options: an abbreviation is unknown
 * here, so it fails closed too.
 *
 * Not listed on purpose: `--output` (writes a file), `--ext-diff` (runs the
 * configured external diff), `-O`/`--open-files-in-pager` of grep (runs a
 * program), `--remote`/`--exec` of archive (network, a program), `-o` of
 * archive (writes), `--lost-found` of fsck (writes), `-m`/`-w`/`-i` of help
 * (start a viewer or a browser).
 */
const spec = (n: string): OptionSpec => optionSpec(n, { negatable: true });

const DIFF = spec(`
  -p -u --patch -s --no-patch -U= --unified= --output-indicator-new= --output-indicator-old= --output-indicator-context=
  --raw --patch-with-raw -t --indent-heuristic --minimal --patience --histogram --anchored= --diff-algorithm=
  --stat? --stat-width= --stat-name-width= --stat-count= --stat-graph-width= --compact-summary --numstat --shortstat
  -X? --dirstat? --cumulative --dirstat-by-file? --summary --patch-with-stat -z --name-only --name-status --submodule?
  --color? --color-moved? --color-moved-ws= --word-diff? --word-diff-regex= --color-words? --renames --rename-empty
  --check --ws-error-highlight= --full-index --binary --abbrev? -B? --break-rewrites? -M? --find-renames? -C?
  --find-copies? --find-copies-harder -D --irreversible-delete -l= --diff-filter= -S= -G= --find-object= --pickaxe-all
  --pickaxe-regex -O=path -R --relative? -a --text --ignore-cr-at-eol --ignore-space-at-eol -b --ignore-space-change -w
  --ignore-all-space --ignore-blank-lines -I= --ignore-matching-lines= --inter-hunk-context= -W --function-context
  --exit-code --quiet --textconv --ignore-submodules? --src-prefix= --dst-prefix= --prefix --default-prefix
  --line-prefix= --ita-invisible-in-index --ita-visible-in-index --skip-to= --rotate-to= --no-ext-diff --cached --staged
  --merge-base --no-index -0 -1 -2 -3 --base --ours --theirs --diff-merges= --remerge-diff
`);

const REVS = spec(`
  # -n= --max-count= --skip= --since= --after= --until= --before= --since-as-filter= --author= --committer= --grep-reflog=
  --grep= --all-match --invert-grep -i --regexp-ignore-case --basic-regexp -E --extended-regexp -F --fixed-strings -P
  --perl-regexp --remove-empty --merges --min-parents= --max-parents= --first-parent --exclude-first-parent-only --not
  --all --branches? --tags? --remotes? --glob= --exclude= --exclude-hidden= --reflog --alternate-refs --single-worktree
  --ignore-missing --bisect --stdin --cherry-mark --cherry-pick --left-only --right-only --cherry -g --walk-reflogs --merge
  --boundary --simplify-by-decoration --show-pulls --full-history --dense --sparse --simplify-merges --ancestry-path?
  --date-order --author-date-order --topo-order --reverse --walk --do-walk --pretty? --format= --abbrev-commit --oneline
  --encoding= --expand-tabs? --notes? --show-notes? --standard-notes --show-signature --relative-date --date= --parents
  --children --left-right --graph --show-linear-break? --decorate? --decorate-refs= --decorate-refs-exclude= --source
  --clear-decorations --use-mailmap --mailmap --full-diff --log-size -L= --follow -m -c --cc --dd --combined-all-paths
  --count --objects --objects-edge --unpacked --header --timestamp --object-names --in-commit-order --missing=
  --filter= --filter-print-omitted --indexed-objects --disk-usage? -v --verbose --no-commit-id --always --root -r
`);

const LOGLIKE = mergeSpecs(DIFF, REVS);

const GIT_READ_OPTS: Record<string, OptionSpec> = {
  log: LOGLIKE,
  show: LOGLIKE,
  whatchanged: LOGLIKE,
  'rev-list': LOGLIKE,
  diff: DIFF,
  'diff-tree': LOGLIKE,
  'diff-files': DIFF,
  'diff-index': DIFF,
  'range-diff': mergeSpecs(LOGLIKE, spec('--creation-factor= --dual-color')),
  shortlog: mergeSpecs(REVS, spec('-n --numbered -s --summary -e --email --group= --committer -w?')),
  status: spec(`-s --short -b --branch --show-stash --porcelain? --long -v --verbose -u? --untracked-files? --ignore-submodules?
    --ignored? -z --column? --ahead-behind --renames --find-renames?`),
  blame: spec(`-b --root --show-stats -L= -l -t -S=path --reverse= --first-parent -p --porcelain --line-porcelain --incremental
    --encoding= --contents=path --date= --progress -M? -C? --ignore-rev= --ignore-revs-file=path --color-lines --color-by-age
    -c --score-debug -f --show-name -n --show-number -s -e --show-email -w --abbrev? --since=`),
  'rev-parse': spec(`--abbrev-ref? --symbolic --symbolic-full-name --short? --verify -q --quiet --sq --sq-quote --not --all
    --branches? --tags? --remotes? --glob= --exclude= --exclude-hidden= --disambiguate= --show-toplevel --show-prefix --show-cdup
    --show-superproject-working-tree --show-object-format? --show-ref-format --git-dir --git-common-dir --absolute-git-dir
    --is-inside-git-dir --is-inside-work-tree --is-bare-repository --is-shallow-repository --git-path= --shared-index-path
    --local-env-vars --default= --revs-only --flags --since= --after= --until= --before= --path-format= --end-of-options`),
  'ls-files': spec(`-c --cached -d --deleted -m --modified -o --others -i --ignored -s --stage -u --unmerged -k --killed -z -t -v
    -f --directory --empty-directory --eol --exclude= -x= --exclude-from=path -X=path --exclude-per-directory= --exclude-standard
    --error-unmatch --with-tree= --full-name --recurse-submodules --abbrev? --format= --debug --deduplicate --sparse --resolve-undo`),
  'ls-tree': spec('-d -r -t -l --long -z --name-only --name-status --object-only --full-name --full-tree --abbrev? --format='),
  'cat-file': spec(`-t -s -e -p --textconv --filters --path= --batch? --batch-check? --batch-command? --batch-all-objects --buffer
    --unordered --follow-symlinks --allow-unknown-type -Z -z --mailmap --use-mailmap`),
  describe: spec('--dirty? --broken? --all --tags --contains --abbrev= --candidates= --exact-match --debug --long --match= --exclude= --always --first-parent'),
  'merge-base': spec('-a --all --octopus --independent --is-ancestor --fork-point'),
  'name-rev': spec('--tags --refs= --exclude= --all --annotate-stdin --stdin --name-only --undefined --always'),
  'show-ref': spec('--head --branches --heads --tags -d --dereference -s --hash? --abbrev? --verify -q --quiet --exists'),
  'for-each-ref': spec(`--count= --shell -p --perl --python --tcl --sort= --format= --color? --points-at= --merged? --contains?
    --ignore-case --omit-empty --exclude= --include-root-refs --stdin`),
  'check-ignore': spec('-q --quiet -v --verbose --stdin -z -n --non-matching --index'),
  'check-attr': spec('-a --all --cached --stdin -z --source='),
  'check-ref-format': spec('--normalize --allow-onelevel --refspec-pattern --branch'),
  'count-objects': spec('-v --verbose -H --human-readable'),
  var: spec('-l'),
  version: spec('--build-options'),
  help: spec('-a --all -g --guides -c --config --user-interfaces --developer-interfaces --external-commands --aliases --verbose'),
  cherry: spec('-v --abbrev?'),
  'verify-commit': spec('-v --verbose --raw'),
  'verify-tag': spec('-v --verbose --raw --format='),
  fsck: spec(`--unreachable --dangling --root --tags --cache --reflogs --full --connectivity-only --strict --verbose --progress
    --name-objects --references`),
  'show-branch': spec(`-r --remotes -a --all --current --topo-order --date-order --sparse --more= --list --merge-base --independent
    --name --sha1-name --topics -g? --reflog? --color?`),
  grep: spec(`# --cached --untracked --index --exclude-standard --recurse-submodules -a --text --textconv -i --ignore-case -I
    --max-depth= -r --recursive -w --word-regexp -v --invert-match -h -H --full-name -E --extended-regexp -G --basic-regexp -P
    --perl-regexp -F --fixed-strings -n --line-number --column -l --files-with-matches --name-only -L --files-without-match -z
    --null -o --only-matching -c --count --color? --break --heading -p --show-function -C= -A= -B= --context= --after-context=
    --before-context= -W --function-context -m= --max-count= --threads= -f=path -e= --and --or --not --all-match -q --quiet`),
  archive: spec('--format= -l --list -v --verbose --prefix= --worktree-attributes --mtime= -0 -1 -2 -3 -4 -5 -6 -7 -8 -9 --add-file=path --add-virtual-file='),
  // List forms of commands that otherwise write (the rules decide the form; these are its options).
  branch: spec(`-a --all -r --remotes -l --list -v --verbose --show-current --contains? --merged? --points-at= --sort= --format=
    --color? --column? --abbrev= -i --ignore-case --omit-empty`),
  tag: spec('-l --list -n? --contains? --merged? --points-at= --sort= --format= --color? --column? -i --ignore-case --omit-empty'),
  remote: spec('-v --verbose -n --push --all'),
  config: spec(`--get --get-all --get-regexp --get-urlmatch --list -l --get-color --get-colorbool --show-origin --show-scope
    --name-only -z --null --type= --bool --int --bool-or-int --path --expiry-date --default= --includes --global --system
    --local --worktree --file=path -f=path --blob= --fixed-value --all --regexp --value= --url=`),
  stash: LOGLIKE,
  reflog: LOGLIKE,
  worktree: spec('--porcelain -v --verbose -z'),
  notes: spec('--ref='),
  submodule: spec('--cached --recursive -n= --summary-limit= --files -q --quiet'),
  'symbolic-ref': spec('-q --quiet --short --recurse'),
  replace: spec('-l --list --format='),
  clean: spec('-n --dry-run -d -x -X -e= --exclude= -q --quiet'),
};

/** The read-only options of `git <sub>`, or undefined when the subcommand has no read-only form. */
export function gitReadOptions(sub: string): OptionSpec | undefined {
  return GIT_READ_OPTS[sub];
}

/** git's own options before the subcommand that change nothing and run nothing. */
export const GIT_GLOBAL_FLAGS = new Set([
  '--no-pager', '-P', '-p', '--paginate', '--bare', '--literal-pathspecs', '--glob-pathspecs', '--noglob-pathspecs',
  '--icase-pathspecs', '--no-replace-objects', '--no-lazy-fetch', '--no-advice', '--no-optional-locks', '--version', '--help',
  '-h', '--html-path', '--man-path', '--info-path', '--exec-path',
]);

/**
 * Options whose value is a program, a configuration or a place the command
 * runs code from, per git subcommand: they ask in every mode. Long options
 * match their abbreviations too (git accepts `--upload=x` for `--upload-pack=x`).
 */
export const GIT_PROGRAM_OPTS: Record<string, { longs: string[]; shorts: string }> = {
  'ls-remote': { longs: ['upload-pack'], shorts: 'u' },
  fetch: { longs: ['upload-pack'], shorts: '' },
  pull: { longs: ['upload-pack'], shorts: '' },
  clone: { longs: ['upload-pack', 'template', 'config', 'separate-git-dir'], shorts: 'uc' },
  init: { longs: ['template', 'separate-git-dir'], shorts: '' },
  push: { longs: ['receive-pack', 'exec'], shorts: '' },
  'send-pack': { longs: ['receive-pack', 'exec'], shorts: '' },
  'fetch-pack': { longs: ['upload-pack', 'exec'], shorts: '' },
  archive: { longs: ['exec', 'remote'], shorts: '' },
  'send-email': { longs: ['smtp-server', 'to-cmd', 'cc-cmd', 'header-cmd', 'sendmail-cmd'], shorts: '' },
  difftool: { longs: ['extcmd', 'tool', 'gui'], shorts: 'xtg' },
  mergetool: { longs: ['tool', 'gui'], shorts: 'tg' },
  rebase: { longs: ['exec'], shorts: 'x' },
  grep: { longs: ['open-files-in-pager'], shorts: 'O' },
  log: { longs: ['ext-diff'], shorts: '' },
  show: { longs: ['ext-diff'], shorts: '' },
  diff: { longs: ['ext-diff'], shorts: '' },
  whatchanged: { longs: ['ext-diff'], shorts: '' },
  'format-patch': { longs: ['ext-diff'], shorts: '' },
  'diff-tree': { longs: ['ext-diff'], shorts: '' },
  'diff-files': { longs: ['ext-diff'], shorts: '' },
  'diff-index': { longs: ['ext-diff'], shorts: '' },
  'range-diff': { longs: ['ext-diff'], shorts: '' },
  'cat-file': { longs: [], shorts: '' },
};

/** Subcommands that contact another machine (denied in observe_only, asked in review). */
export function gitNetwork(sub: string, positionals: readonly string[], flag: (longs: string[], shorts?: string) => boolean): boolean {
  switch (sub) {
    case 'ls-remote':
    case 'fetch':
    case 'pull':
    case 'push':
    case 'clone':
    case 'send-email':
    case 'request-pull':
    case 'fetch-pack':
    case 'send-pack':
    case 'lfs':
      return true;
    case 'remote':
      // `remote show NAME` queries the remote unless -n; update and prune fetch.
      return (positionals[0] === 'show' && !flag([], 'n')) || positionals[0] === 'update' || positionals[0] === 'prune';
    case 'submodule':
      return positionals[0] === 'update' || positionals[0] === 'add';
    case 'archive':
      return flag(['--remote']);
  }
  return false;
}
