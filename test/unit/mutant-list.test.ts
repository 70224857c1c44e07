import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error -- plain ESM module of the harness, no types
import { checkMutants, selectMutants } from '../mutate/mutant-list.mjs';
// @ts-expect-error -- plain ESM module of the harness, no types
import { mutants } from '../mutate/mutants.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
type Mutant = { id: string; behaviour: string; file: string; find: string; replace: string; tests: string[] };
const base: Mutant = { id: 'a.b', behaviour: 'x', file: 'f.ts', find: 'return 1;', replace: 'return 2;', tests: ['t.test.ts'] };
const check = (list: Mutant[], files: Record<string, string>, tests = ['t.test.ts']): string[] =>
  checkMutants(list, (f: string) => files[f], (t: string) => tests.includes(t));

describe('mutation harness: the mutant list', () => {
  it('accepts a mutant whose text occurs exactly once', () => {
    assert.deepEqual(check([base], { 'f.ts': 'a\nreturn 1;\nb' }), []);
  });

  it('fails loudly when the code moved: the text occurs nowhere, or several times', () => {
    assert.match(check([base], { 'f.ts': 'return 3;' })[0] ?? '', /a\.b: f\.ts holds the original text nowhere/);
    assert.match(check([base], { 'f.ts': 'return 1; return 1;' })[0] ?? '', /2 times/);
  });

  it('refuses a missing file, a missing test file, a duplicate id, a no-op replacement', () => {
    assert.match(check([base], {})[0] ?? '', /f\.ts does not exist/);
    assert.match(check([base], { 'f.ts': 'return 1;' }, [])[0] ?? '', /test file t\.test\.ts does not exist/);
    assert.ok(check([base, base], { 'f.ts': 'return 1;' }).some((p: string) => /duplicate id/.test(p)));
    assert.match(check([{ ...base, replace: base.find }], { 'f.ts': 'return 1;' })[0] ?? '', /replacement is the original/);
  });

  it('selects by id and by family prefix', () => {
    const list = [base, { ...base, id: 'a.c' }, { ...base, id: 'b.a' }];
    assert.deepEqual(selectMutants(list, 'a.*').map((m: Mutant) => m.id), ['a.b', 'a.c']);
    assert.deepEqual(selectMutants(list, 'b.a,a.c').map((m: Mutant) => m.id), ['a.c', 'b.a']);
    assert.equal(selectMutants(list, undefined).length, 3);
  });

  it('every curated mutant still applies to the code it protects', () => {
    const problems = checkMutants(
      mutants,
      (f: string) => (existsSync(join(root, f)) ? readFileSync(join(root, f), 'utf8') : undefined),
      (t: string) => existsSync(join(root, t)),
    );
    assert.deepEqual(problems, []);
    assert.ok(mutants.length >= 10);
  });
});
