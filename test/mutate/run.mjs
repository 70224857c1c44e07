#!/usr/bin/env node
// `npm run mutate`: applies each curated mutant (test/mutate/mutants.mjs) to a scratch copy of
// this working tree, runs only the tests named for it, and reports it killed (the tests failed)
// or survived (they passed). Every mutant must be killed. A mutant whose text no longer occurs
// exactly once in its file fails the whole run before anything is run: the list is kept with
// the code it protects.
//
//   npm run mutate                      every mutant
//   npm run mutate -- --only=a,b        only these ids (or id prefixes ending in *)
//   npm run mutate -- --list            print the mutants and exit
//   npm run mutate -- --no-baseline     skip the unmutated run of the named tests
//
// Why a scratch copy: a mutant applied to the real tree and interrupted (Ctrl-C, a crash) would
// leave broken code behind. Why our own harness: StrykerJS cannot run node's test runner per test
// file, and a curated list aimed at the behaviours that matter says more than thousands of random
// operator swaps.
import { spawn, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mutants } from './mutants.mjs';
import { checkMutants, selectMutants } from './mutant-list.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const value = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const TIMEOUT_MS = Number(value('timeout') ?? 15 * 60) * 1000;

const problems = checkMutants(mutants, (file) => (existsSync(join(root, file)) ? readFileSync(join(root, file), 'utf8') : undefined), (t) => existsSync(join(root, t)));
if (problems.length > 0) {
  for (const p of problems) console.error(`✖ ${p}`);
  console.error(`\n${problems.length} mutant(s) no longer apply: update test/mutate/mutants.mjs with the code they protect.`);
  process.exit(2);
}
const selected = selectMutants(mutants, value('only'));
if (selected.length === 0) {
  console.error(`no mutant matches --only=${value('only')}`);
  process.exit(2);
}
if (flag('list')) {
  for (const m of selected) console.log(`${m.id.padEnd(36)} ${m.file}\n${' '.repeat(37)}${m.behaviour}\n${' '.repeat(37)}tests: ${m.tests.join(' ')}`);
  process.exit(0);
}

class BaselineFailed extends Error {}

const scratch = makeScratchCopy();
const started = Date.now();
let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
});

try {
  if (!flag('no-baseline')) {
    const files = [...new Set(selected.flatMap((m) => m.tests))];
    console.log(`baseline: the ${files.length} named test file(s) without any mutant…`);
    const r = await runTests(files, 'baseline');
    if (!r.passed) {
      console.error(`✖ the named tests fail without any mutant (${r.reason}); fix them first:\n${r.tail}`);
      // Not process.exit: the scratch copy is removed below.
      process.exitCode = 2;
      throw new BaselineFailed();
    }
    console.log(`baseline passed in ${seconds(r.ms)} s\n`);
  }
  let killed = 0;
  const survivors = [];
  for (const m of selected) {
    if (interrupted) break;
    const file = join(scratch, m.file);
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace(m.find, () => m.replace));
    let r;
    try {
      r = await runTests(m.tests, m.id);
    } finally {
      writeFileSync(file, original);
    }
    if (r.passed) {
      survivors.push(m);
      console.log(`SURVIVED ${m.id} (${seconds(r.ms)} s): ${m.behaviour}`);
    } else {
      killed += 1;
      console.log(`killed   ${m.id} (${seconds(r.ms)} s${r.reason === 'timeout' ? ', tests timed out' : ''})`);
    }
  }
  const ran = killed + survivors.length;
  console.log(`\n${killed} killed, ${survivors.length} survived${ran < selected.length ? `, ${selected.length - ran} not run (interrupted)` : ''} in ${seconds(Date.now() - started)} s`);
  for (const m of survivors) console.log(`  survived: ${m.id} — ${m.file}: ${JSON.stringify(m.find)} → ${JSON.stringify(m.replace)}`);
  process.exitCode = survivors.length > 0 || ran < selected.length ? 1 : 0;
} catch (e) {
  if (!(e instanceof BaselineFailed)) throw e;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

/** The working tree as it is (tracked and untracked, not ignored files), with node_modules linked. */
function makeScratchCopy() {
  // Beside the repository, not in /tmp: the agent sandbox mounts an empty /tmp (and /var/tmp), so the
  // fake agent CLIs of a copy there could not be run and every end-to-end test failed. CPL_MUTATE_DIR overrides.
  const dir = mkdtempSync(process.env.CPL_MUTATE_DIR ? join(process.env.CPL_MUTATE_DIR, 'cpl-mutate-') : `${resolve(root)}.mutate-`);
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(root, f)));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(root, f), join(dir, f), { dereference: false });
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  // Some tests run git in the project directory (version, paths): give the copy a repository too.
  execFileSync('git', ['init', '-q'], { cwd: dir });
  return dir;
}

/** Runs `node test/run.js <files>` in the scratch copy; resolves with whether every test passed. */
function runTests(files, label) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['test/run.js', ...files], {
      cwd: scratch,
      env: { ...process.env, CODEPLANE_MUTANT: label },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    const keep = (c) => {
      out = (out + c.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const failed = /^ℹ fail (\d+)/m.exec(out);
      const passed = !timedOut && code === 0 && failed !== null && failed[1] === '0';
      resolve({ passed, ms: Date.now() - t0, reason: timedOut ? 'timeout' : `exit ${code}`, tail: out.slice(-4000) });
    });
  });
}

function seconds(ms) {
  return (ms / 1000).toFixed(1);
}
