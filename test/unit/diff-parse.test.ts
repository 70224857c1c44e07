import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DiffParser, parseDiff, unquote } from '../../workers/tasks/diff-parse.ts';
import { summarizeDiff } from '../../machines/diff-types.ts';
import { parseNumstatZ } from '../../workers/tasks/diff-task.ts';

const Z = '0000000000000000000000000000000000000000';
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

const PATCH = [
  `diff --git a/src/app.ts b/src/app.ts`,
  `index ${A}..${B} 100644`,
  `--- a/src/app.ts`,
  `+++ b/src/app.ts`,
  `@@ -1,4 +1,5 @@ export function main() {`,
  ` const a = 1;`,
  `-const b = 2;`,
  `+const b = 3;`,
  `+const c = 4;`,
  ` `,
  ` --- not a header, a context line`,
  `@@ -10 +11 @@`,
  `-old`,
  `+new`,
  `\\ No newline at end of file`,
  `diff --git a/new file.txt b/new file.txt`,
  `new file mode 100644`,
  `index ${Z}..${B}`,
  `--- /dev/null`,
  `+++ b/new file.txt\t`,
  `@@ -0,0 +1,2 @@`,
  `+hello`,
  `+--- looks like a header`,
  `diff --git a/gone.txt b/gone.txt`,
  `deleted file mode 100644`,
  `index ${A}..${Z}`,
  `--- a/gone.txt`,
  `+++ /dev/null`,
  `@@ -1 +0,0 @@`,
  `-bye`,
  `diff --git a/old/name.md b/new/name.md`,
  `similarity index 90%`,
  `rename from old/name.md`,
  `rename to new/name.md`,
  `index ${A}..${B} 100644`,
  `--- a/old/name.md`,
  `+++ b/new/name.md`,
  `@@ -2 +2 @@`,
  `-x`,
  `+y`,
  `diff --git a/moved.txt b/elsewhere/moved.txt`,
  `similarity index 100%`,
  `rename from moved.txt`,
  `rename to elsewhere/moved.txt`,
  `diff --git a/logo.png b/logo.png`,
  `new file mode 100644`,
  `index ${Z}..${B}`,
  `Binary files /dev/null and b/logo.png differ`,
  `diff --git "a/tab\\there" "b/tab\\there"`,
  `new file mode 100644`,
  `index ${Z}..${B}`,
  `--- /dev/null`,
  `+++ "b/tab\\there"`,
  `@@ -0,0 +1 @@`,
  `+t`,
  ``,
].join('\n');

describe('the diff parser', () => {
  const page = parseDiff(PATCH);
  const byPath = new Map(page.files.map((f) => [f.path, f]));

  it('reads every file with its status', () => {
    assert.deepEqual(
      page.files.map((f) => [f.path, f.status]),
      [
        ['src/app.ts', 'modified'],
        ['new file.txt', 'added'],
        ['gone.txt', 'deleted'],
        ['new/name.md', 'renamed'],
        ['elsewhere/moved.txt', 'renamed'],
        ['logo.png', 'added'],
        ['tab\there', 'added'],
      ],
    );
    assert.equal(byPath.get('new/name.md')!.oldPath, 'old/name.md');
    assert.equal(byPath.get('elsewhere/moved.txt')!.oldPath, 'moved.txt');
    assert.equal(byPath.get('src/app.ts')!.oldPath, undefined);
    assert.equal(page.truncated, false);
  });

  it('numbers lines on both sides and counts additions and deletions', () => {
    const f = byPath.get('src/app.ts')!;
    assert.equal(f.hunks.length, 2);
    assert.equal(f.hunks[0]!.header, '@@ -1,4 +1,5 @@ export function main() {');
    assert.deepEqual(f.hunks[0]!.lines, [
      { type: 'context', text: 'const a = 1;', oldNo: 1, newNo: 1 },
      { type: 'del', text: 'const b = 2;', oldNo: 2 },
      { type: 'add', text: 'const b = 3;', newNo: 2 },
      { type: 'add', text: 'const c = 4;', newNo: 3 },
      { type: 'context', text: '', oldNo: 3, newNo: 4 },
      { type: 'context', text: '--- not a header, a context line', oldNo: 4, newNo: 5 },
    ]);
    assert.deepEqual(f.hunks[1]!.lines, [
      { type: 'del', text: 'old', oldNo: 10 },
      { type: 'add', text: 'new', newNo: 11 },
    ]);
    assert.equal(f.additions, 3);
    assert.equal(f.deletions, 2);
    assert.deepEqual(byPath.get('new file.txt')!.hunks[0]!.lines.map((l) => l.text), ['hello', '--- looks like a header']);
    assert.deepEqual(page.stats, { files: 7, additions: 7, deletions: 4 });
  });

  it('flags binary files and gives them no hunks', () => {
    const png = byPath.get('logo.png')!;
    assert.equal(png.binary, true);
    assert.deepEqual(png.hunks, []);
    assert.equal(byPath.get('src/app.ts')!.binary, false);
  });

  it('summarizes without hunks for diff_update events', () => {
    const s = summarizeDiff(page);
    assert.deepEqual(s.files[0], { path: 'src/app.ts', status: 'modified', additions: 3, deletions: 2 });
    assert.equal('hunks' in s.files[0]!, false);
  });

  it('skips files before the offset and stops at maxFiles with a marker', () => {
    const p = parseDiff(PATCH, { offset: 2, maxFiles: 2 });
    assert.deepEqual(p.files.map((f) => f.path), ['gone.txt', 'new/name.md']);
    assert.equal(p.truncated, true);
    assert.equal(p.nextOffset, 4);
    const last = parseDiff(PATCH, { offset: 6, maxFiles: 2 });
    assert.deepEqual(last.files.map((f) => f.path), ['tab\there']);
    assert.equal(last.truncated, false);
  });

  it('stops at maxBytes: a later file moves to the next page, a first file is cut and marked', () => {
    const p = parseDiff(PATCH, { maxBytes: 400 });
    assert.equal(p.truncated, true);
    assert.equal(p.files.length, 1);
    assert.equal(p.nextOffset, 1);
    assert.equal(p.files[0]!.truncated, undefined);
    const cut = parseDiff(PATCH, { maxBytes: 200 });
    assert.equal(cut.files.length, 1);
    assert.equal(cut.files[0]!.truncated, true);
    assert.equal(cut.nextOffset, 1);
    assert.ok(cut.files[0]!.hunks.flatMap((h) => h.lines).length < 6);
  });

  it('tells the producer to stop once the page is full', () => {
    const parser = new DiffParser({ maxFiles: 1 });
    const lines = PATCH.split('\n');
    let fed = 0;
    for (const l of lines) {
      if (!parser.push(l)) break;
      fed += 1;
    }
    assert.equal(lines[fed], 'diff --git a/new file.txt b/new file.txt');
    assert.equal(parser.push('anything'), false);
  });

  it('undoes git path quoting, including octal UTF-8 bytes', () => {
    assert.equal(unquote('"caf\\303\\251 \\"q\\"\\\\"'), 'café "q"\\');
    assert.equal(unquote('plain'), 'plain');
  });

  it('reads numstat -z, renames and binaries included', () => {
    const { totals, perPath } = parseNumstatZ('3\t1\ta.txt\0-\t-\tlogo.png\x002\t0\t\0old.md\0new.md\0');
    assert.deepEqual(totals, { files: 3, additions: 5, deletions: 1 });
    assert.deepEqual(perPath.get('new.md'), { additions: 2, deletions: 0 });
    assert.deepEqual(perPath.get('logo.png'), { additions: 0, deletions: 0 });
  });
});
