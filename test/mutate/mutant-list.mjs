// The pure half of the mutation harness: validating the curated list against the code, and
// choosing which mutants to run. Kept apart from run.mjs so a unit test can check it.

/**
 * Everything wrong with the list: duplicate or malformed ids, missing fields, a file that does
 * not exist, a `find` text that occurs zero or several times in its file (the code moved: the
 * mutant no longer tests what it says), a replacement equal to the original, a named test file
 * that does not exist.
 * @param {readonly {id:string, behaviour:string, file:string, find:string, replace:string, tests:string[]}[]} list
 * @param {(file: string) => string | undefined} read the file's text, undefined when missing
 * @param {(testFile: string) => boolean} testExists
 * @returns {string[]}
 */
export function checkMutants(list, read, testExists) {
  const problems = [];
  const ids = new Set();
  for (const m of list) {
    const id = typeof m.id === 'string' && /^[a-z0-9][a-z0-9.-]*$/.test(m.id) ? m.id : undefined;
    if (!id) {
      problems.push(`mutant ${JSON.stringify(m.id)}: the id must be lower-case letters, digits, dots and dashes`);
      continue;
    }
    if (ids.has(id)) problems.push(`${id}: duplicate id`);
    ids.add(id);
    for (const key of ['behaviour', 'file', 'find']) if (typeof m[key] !== 'string' || m[key] === '') problems.push(`${id}: "${key}" is missing`);
    if (typeof m.replace !== 'string') problems.push(`${id}: "replace" is missing`);
    if (!Array.isArray(m.tests) || m.tests.length === 0) problems.push(`${id}: names no test file`);
    else for (const t of m.tests) if (typeof t !== 'string' || !t.endsWith('.test.ts') || !testExists(t)) problems.push(`${id}: test file ${t} does not exist`);
    if (typeof m.file !== 'string' || typeof m.find !== 'string' || m.find === '') continue;
    if (m.find === m.replace) problems.push(`${id}: the replacement is the original text`);
    const text = read(m.file);
    if (text === undefined) {
      problems.push(`${id}: ${m.file} does not exist`);
      continue;
    }
    const n = occurrences(text, m.find);
    if (n !== 1) problems.push(`${id}: ${m.file} holds the original text ${n === 0 ? 'nowhere' : `${n} times`}: ${JSON.stringify(m.find.slice(0, 120))}`);
  }
  return problems;
}

/** The mutants `--only` names (comma-separated ids; `prefix*` picks a family); all without it. */
export function selectMutants(list, only) {
  if (only === undefined || only === '') return [...list];
  const wanted = only.split(',').map((s) => s.trim()).filter(Boolean);
  return list.filter((m) => wanted.some((w) => (w.endsWith('*') ? m.id.startsWith(w.slice(0, -1)) : m.id === w)));
}

function occurrences(text, find) {
  let n = 0;
  for (let i = text.indexOf(find); i !== -1; i = text.indexOf(find, i + 1)) n += 1;
  return n;
}
