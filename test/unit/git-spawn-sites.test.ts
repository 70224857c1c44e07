/**
 * A static guard over the server's source: git is started in exactly two places, both through
 * gitInvocation (machines/git-invocation.ts), so no code path runs a git that skips the
 * hardening. The behaviour tests (test/integration/git-hardening.test.ts) show what the
 * hardening does; this test keeps a new `spawn('git', …)` or a simple-git import from
 * quietly going around it. A module that starts processes must be listed here, after review.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/server-process.ts';

const SOURCE_DIRS = ['supervisor', 'workers', 'api', 'machines', 'bin'];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|js|mjs|cjs)$/.test(name)) out.push(p);
  }
  return out;
}

const files = SOURCE_DIRS.flatMap((d) => sources(join(ROOT, d))).map((p) => ({ rel: relative(ROOT, p), text: readFileSync(p, 'utf8') }));

/** The two modules that start git, and why each may. */
const GIT_SPAWNERS = new Set(['supervisor/git/git-exec.ts', 'workers/tasks/git-task.ts']);

/** Modules that start other programs (none of them git); each reviewed. */
const OTHER_SPAWNERS = new Set([
  'supervisor/agents/claude-models.ts', // the agent SDK's CLI, to list models
  'supervisor/cli/doctor.ts', // tunnel CLIs' --version (git through runGit)
  'supervisor/git/worktree-setup.ts', // the repository's setup command, in the job's worktree
  'supervisor/git/pull-request.ts', // gh, with toolEnvForGit (its git is hardened through GIT_CONFIG_*)
  'supervisor/agents/agent-status.ts', // agent CLIs' --version / auth status
  'supervisor/terminal/terminal-service.ts', // the user's shell in a terminal (node-pty)
  'supervisor/workers/worker-handle.ts', // the job worker (node)
  'supervisor/cli/server-relaunch.ts', // the server itself (node), relaunched
  'supervisor/remote/tunnel.ts', // the tunnel CLI
  'supervisor/sandbox/sandbox-probe.ts', // bubblewrap, to see that it can make namespaces (cpl doctor, the job gate)
  'workers/agents/claude-process.ts', // the agent CLI
  'workers/agents/copilot-process.ts', // the agent CLI
]);

const PROCESS_MODULE = /from\s+['"](node:)?child_process['"]|require\(\s*['"](node:)?child_process['"]\s*\)|from\s+['"]node-pty['"]|import\(\s*['"](node:)?child_process['"]\s*\)/;
/** `spawn('git'`, `execFile("git"`, `run(`git``: a call whose program is the literal git. */
const GIT_LITERAL_CALL = /\b(spawn|spawnSync|execFile|execFileSync|exec|execSync|fork|run|execa)\s*\(\s*(['"`])git\2\s*[,)]/;

describe('git spawn sites', () => {
  it('simple-git is imported by no server module (it would run git with its own argv and environment)', () => {
    assert.deepEqual(
      files.filter((f) => /['"]simple-git['"]/.test(f.text)).map((f) => f.rel),
      [],
    );
  });

  it('only the reviewed modules start processes', () => {
    const spawners = files.filter((f) => PROCESS_MODULE.test(f.text)).map((f) => f.rel).sort();
    assert.deepEqual(spawners, [...GIT_SPAWNERS, ...OTHER_SPAWNERS].sort());
  });

  it('git is the program of a call only in the two git spawners', () => {
    const hits = files.filter((f) => GIT_LITERAL_CALL.test(f.text)).map((f) => f.rel).sort();
    assert.deepEqual(hits, [...GIT_SPAWNERS].sort());
  });

  it('each git spawner builds its argv and environment with gitInvocation', () => {
    for (const rel of GIT_SPAWNERS) {
      const text = files.find((f) => f.rel === rel)!.text;
      const spawns = text.match(/spawn\(\s*'git'\s*,\s*inv\.args\s*,\s*\{[^}]*env:\s*inv\.env/g) ?? [];
      const all = text.match(/spawn\(\s*'git'/g) ?? [];
      assert.ok(all.length > 0 && spawns.length === all.length, `${rel}: every spawn('git', …) uses inv.args and inv.env`);
      assert.match(text, /const inv = gitInvocation\(/);
    }
  });

  it('the guard sees a violation (control)', () => {
    assert.ok(GIT_LITERAL_CALL.test("const c = spawn('git', ['status'])"));
    assert.ok(GIT_LITERAL_CALL.test('execFile("git", args)'));
    assert.ok(GIT_LITERAL_CALL.test("await run('git', ['--version'])"));
    assert.ok(!GIT_LITERAL_CALL.test("check('git', 'git', true)"));
    assert.ok(PROCESS_MODULE.test("import { spawn } from 'node:child_process';"));
  });
});
