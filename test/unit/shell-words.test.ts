import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { braceExpand, braceExpandAll } from '../../workers/policy/shell-expand.ts';
import { parseShell, type Command, type Part, type Script, type SimpleCommand, type Word } from '../../workers/policy/shell-words.ts';

/** A word as the test reads it: literals joined, `$name` for variables, `$(…)` for substitutions. */
function show(w: Word): string {
  return w.parts.map((p: Part) => (p.kind === 'lit' ? p.text : p.kind === 'var' ? `$${p.name}` : p.kind === 'tilde' ? `~${p.user}` : p.kind === 'sub' ? `${p.how}…)` : p.text)).join('');
}

/** Every simple command in execution-ish order (substitutions before their command), as word lists. */
function commands(src: string): string[][] {
  const r = parseShell(src);
  if (!r.ok) throw new Error(r.error);
  const out: string[][] = [];
  const words = (ws: Word[]): void => {
    for (const w of ws) for (const p of w.parts) if (p.kind === 'sub') script(p.script);
  };
  const command = (c: Command): void => {
    if (c.type === 'simple') {
      words(c.words);
      words(c.redirects.map((x) => x.target));
      if (c.words.length > 0) out.push(c.words.map(show));
    } else if (c.type === 'group') script(c.body);
    else if (c.type === 'case') c.arms.forEach(script);
    else if (c.type === 'function') command(c.body);
    else if (c.type === 'for') out.push(['for', c.name, ...(c.items ?? []).map(show)]);
  };
  const script = (s: Script): void => s.items.forEach((i) => command(i.command));
  script(r.script);
  return out;
}

function only(src: string): SimpleCommand {
  const r = parseShell(src);
  assert.ok(r.ok);
  const c = r.script.items[0]?.command;
  assert.ok(c && c.type === 'simple');
  return c;
}

const error = (src: string): string => {
  const r = parseShell(src);
  assert.equal(r.ok, false, `expected a parse error for ${JSON.stringify(src)}`);
  return r.ok ? '' : r.error;
};

describe('shell-words: splitting into commands', () => {
  it('splits on ; && || | & and newlines, keeping the connectors', () => {
    const r = parseShell('a; b && c || d | e & f\ng');
    assert.ok(r.ok);
    assert.deepEqual(
      r.script.items.map((i) => [show((i.command as SimpleCommand).words[0] as Word), i.next]),
      [['a', ';'], ['b', '&&'], ['c', '||'], ['d', '|'], ['e', '&'], ['f', ';'], ['g', null]],
    );
  });
  it('finds commands inside $( ), backquotes, subshells, brace groups and <( )', () => {
    assert.deepEqual(commands('echo $(git push) `git pull` && (cd x; ls) && { rm y; } && diff <(sort a) b'), [
      ['git', 'push'],
      ['git', 'pull'],
      ['echo', '$(…)', '`…)'],
      ['cd', 'x'],
      ['ls'],
      ['rm', 'y'],
      ['sort', 'a'],
      ['diff', '<(…)', 'b'],
    ]);
  });
  it('nests substitutions inside double quotes', () => {
    assert.deepEqual(commands('echo "a $(b "$(c)") d"'), [['c'], ['b', '$(…)'], ['echo', 'a $(…) d']]);
  });
  it('drops keywords and keeps the commands they introduce', () => {
    assert.deepEqual(commands('if test -f x; then git push; elif y; then z; else w; fi; while ! q; do r; done'), [
      ['test', '-f', 'x'],
      ['git', 'push'],
      ['y'],
      ['z'],
      ['w'],
      ['q'],
      ['r'],
    ]);
  });
  it('reads for headers, case arms and function bodies', () => {
    assert.deepEqual(commands('for f in a "b c"; do echo $f; done'), [['for', 'f', 'a', 'b c'], ['echo', '$f']]);
    assert.deepEqual(commands('case "$x" in a|b) git push;; (*) ls;; esac'), [['git', 'push'], ['ls']]);
    assert.deepEqual(commands('f() { git reset --hard; }; function g { rm x; }'), [['git', 'reset', '--hard'], ['rm', 'x']]);
  });
  it('treats a comment as the end of the line, but # inside a word as text', () => {
    assert.deepEqual(commands('echo a#b # git push\nls'), [['echo', 'a#b'], ['ls']]);
  });
});

describe('shell-words: words and quoting', () => {
  it('removes quotes and backslashes the way the shell does', () => {
    assert.deepEqual(commands(`echo "a b" 'c d' e\\ f g""h 'i'"j" \\g\\it`), [['echo', 'a b', 'c d', 'e f', 'gh', 'ij', 'git']]);
  });
  it('keeps a quoted command line as ONE argument: echo "git push" runs echo only', () => {
    assert.deepEqual(commands('echo "git push"'), [['echo', 'git push']]);
  });
  it('marks quoted parts, variables, ~ and dynamic expansions', () => {
    const c = only(`x "$HOME" ~/a \${v:-d} $1 $((1+2)) $'a\\nb'`);
    assert.deepEqual(
      c.words.map((w) => w.parts.map((p) => p.kind)),
      [['lit'], ['var'], ['tilde', 'lit'], ['dynamic'], ['dynamic'], ['dynamic'], ['lit']],
    );
    const ansi = c.words[6]?.parts[0];
    assert.ok(ansi?.kind === 'lit' && ansi.text === 'a\nb' && ansi.quoted);
  });
  it('reads NAME=value before the command as assignments', () => {
    const c = only('A=1 B="x y" env');
    assert.deepEqual(
      c.assigns.map((a) => [a.name, show(a.value)]),
      [['A', '1'], ['B', 'x y']],
    );
    assert.deepEqual(c.words.map(show), ['env']);
  });
  it('joins lines continued with a backslash', () => {
    assert.deepEqual(commands('git \\\n  push'), [['git', 'push']]);
  });
  it('[[ … ]] is one command: < and > there are comparisons, not redirections', () => {
    const c = only('[[ a < b && -f c ]]');
    assert.deepEqual(c.words.map(show), ['[[', 'a', '<', 'b', '&&', '-f', 'c', ']]']);
    assert.equal(c.redirects.length, 0);
  });
  it('(( … )) is arithmetic; $(( … )) is a number', () => {
    assert.deepEqual(commands('((i++)); echo $((i*2))'), [['((', 'i++'], ['echo', '$((i*2))']]);
  });
});

describe('shell-words: redirections and here-documents', () => {
  it('recognises redirections and their targets', () => {
    const c = only('cmd > out 2>>err.log <in &>all 2>&1 >|clobber 3<>rw');
    assert.deepEqual(
      c.redirects.map((r) => [r.fd ?? null, r.op, show(r.target)]),
      [
        [null, '>', 'out'],
        [2, '>>', 'err.log'],
        [null, '<', 'in'],
        [null, '&>', 'all'],
        [2, '>&', '1'],
        [null, '>|', 'clobber'],
        [3, '<>', 'rw'],
      ],
    );
    assert.deepEqual(c.words.map(show), ['cmd']);
  });
  it('a digit inside a word is not an fd: echo a2>f writes f', () => {
    const c = only('echo a2>f');
    assert.deepEqual(c.words.map(show), ['echo', 'a2']);
    assert.equal(c.redirects[0]?.fd, undefined);
  });
  it('does not run a here-document body, but does run $( ) inside an unquoted one', () => {
    assert.deepEqual(commands('cat > f <<EOF\ngit push\n$(whoami)\nEOF\nls'), [['whoami'], ['cat'], ['ls']]);
    assert.deepEqual(commands("cat <<'EOF'\n$(git push)\nEOF"), [['cat']]);
  });
  it('keeps the body of a here-document, tabs stripped for <<-', () => {
    const c = only('bash <<-END\n\tgit push\n\tEND\n');
    assert.equal(c.redirects[0]?.heredoc?.body, '\tgit push\n');
    assert.equal(c.redirects[0]?.heredoc?.delimiter, 'END');
  });
});

describe('shell-words: what bash would reject is an error, never a guess', () => {
  for (const [src, msg] of [
    ["echo 'x", /single quote/],
    ['echo "x', /double quote/],
    ['echo $(x', /missing \)/],
    ['echo `x', /backquote/],
    ['(a', /missing \)/],
    ['{ a; ', /missing \}/],
    ['a &&', /missing after &&/],
    ['a | ', /missing after \|/],
    ['echo ${x', /unterminated \$\{/],
    ['a ) b', /unexpected \)/],
    ['; a', /unexpected ;/],
    ['echo >', /file name is missing/],
    ['case x in a) b;;', /missing esac/],
  ] as const) {
    it(`${JSON.stringify(src)} → ${msg}`, () => assert.match(error(src), msg));
  }
  it('refuses input that is too long or too deeply nested', () => {
    assert.match(error('a'.repeat(200_001)), /longer than/);
    assert.match(error(`${'$('.repeat(100)}x${')'.repeat(100)}`), /nested too deeply/);
  });
});

describe('brace expansion', () => {
  it('expands alternatives and sequences, nested, leaving lone braces alone', () => {
    assert.deepEqual(braceExpand('a{b,c}d'), ['abd', 'acd']);
    assert.deepEqual(braceExpand('{..,x}/y'), ['../y', 'x/y']);
    assert.deepEqual(braceExpand('{a,{b,c}}'), ['a', 'b', 'c']);
    // bash expands sequences too: `{g..g}it push` is `git push`.
    assert.deepEqual(braceExpand('{1..3}'), ['1', '2', '3']);
    assert.deepEqual(braceExpand('{g..g}it'), ['git']);
    assert.deepEqual(braceExpand('{01..10..4}'), ['01', '05', '09']);
    assert.deepEqual(braceExpand('{c..a}'), ['c', 'b', 'a']);
    assert.deepEqual(braceExpand('find {} ;'), ['find {} ;']);
  });
  it('says when there are more alternatives than it checks, rather than dropping the rest', () => {
    assert.equal(braceExpandAll(`rm {${Array.from({ length: 70 }, (_, i) => `f${i}`).join(',')},../x}`), undefined);
    assert.equal(braceExpandAll('{1..100}'), undefined);
    assert.deepEqual(braceExpandAll('{a,b}{1..2}'), ['a1', 'a2', 'b1', 'b2']);
  });
});
