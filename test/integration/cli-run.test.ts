import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Approval, Job } from '../../api/contract.ts';
import { cpl, cplInteractive } from '../helpers/cpl.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { api, FAKE_CLAUDE, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

/** `cpl run` against the real server, which requires a login: the CLI uses the per-run token in run/cli-token. */
describe('cpl run', () => {
  let server: ServerProcess;
  let repo: string;
  let env: NodeJS.ProcessEnv;
  let auth: Record<string, string>;
  before(async () => {
    repo = makeRepo();
    server = await startServerProcess({ cwd: tmpdir(), env: { CPL_PASSWORD: 'cli run password' } });
    env = { CODEPLANE_HOME: server.home, CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE, HOME: server.home };
    auth = { authorization: `Bearer ${readFileSync(join(server.home, 'run/cli-token'), 'utf8').trim()}` };
  });
  after(async () => {
    await server?.stop();
  });

  it('registers the repo, creates the job, streams it, takes "y <note>" for an approval and exits 0 at review', async () => {
    const run = cplInteractive(['run', '--repo', repo, '--agent', 'claude', '--mode', 'review_and_approve', 'Add a greeting [[write hello.txt hi]]'], env);
    await run.waitFor(/approve\? \[y\/n/);
    assert.match(run.output(), /job j\w+ created: Add a greeting/);
    assert.match(run.output(), /\? approval needed \(write\): .*hello\.txt/);
    run.child.stdin!.write('y looks good to me\n');
    assert.equal(await run.exited, 0, run.output());
    assert.match(run.output(), /running → review/);
    const jobId = /job (j\w+) created/.exec(run.output())![1]!;
    const job = (await api<Job>(server.url, 'GET', `/api/jobs/${jobId}`, undefined, auth)).body;
    assert.equal(job.state, 'review');
    assert.ok(existsSync(join(job.worktreePath, 'hello.txt')));
    const approvals = (await api<Approval[]>(server.url, 'GET', `/api/approvals?jobId=${jobId}`, undefined, auth)).body;
    assert.equal(approvals[0]!.resolution, 'approved');
    assert.equal(approvals[0]!.note, 'looks good to me');
  });

  it('passes a rejection with its note to the agent', async () => {
    const run = cplInteractive(['run', '--repo', repo, '--agent', 'claude', 'Write [[write nope.txt no]]'], env);
    await run.waitFor(/approve\? \[y\/n/);
    run.child.stdin!.write('n write it somewhere else\n');
    assert.equal(await run.exited, 0, run.output());
    assert.match(run.output(), /approval rejected: write it somewhere else/);
  });

  it('exits 1 when the job fails', async () => {
    const r = await cpl(['run', '--repo', repo, '--agent', 'claude', '[[error]]'], env, { ms: 60_000 });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /→ failed/);
  });

  it('shows terminal control sequences from the agent instead of obeying them', async () => {
    const r = await cpl(['run', '--repo', repo, '--agent', 'claude', '--mode', 'full_auto', 'Echo \u001b]0;pwned\u0007 \u001b[2J \u001b]52;c;cHduZWQ=\u0007 \u009b1A\rfake \u202eevil done'], env, { ms: 60_000 });
    assert.equal(r.code, 0, r.out);
    assert.ok(!r.out.includes('\u001b'), 'no raw ESC reaches the terminal');
    assert.doesNotMatch(r.out, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/, 'no control character at all');
    assert.match(r.out, /\\x1b\]52;c;cHduZWQ=\\x07/, 'OSC 52 shown as text');
    assert.match(r.out, /\\x9b1A\\x0dfake \\u202eevil/);
  });

  it('refuses bad arguments with a usage line (exit 2), and says when no server runs', async () => {
    for (const args of [['run'], ['run', '--repo', repo, '--agent', 'gpt', 'x'], ['run', '--repo', repo, '--agent', 'claude', '--mode', 'yolo', 'x'], ['run', '--bogus']]) {
      const r = await cpl(args, env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
    }
    const none = await cpl(['run', '--repo', repo, '--agent', 'claude', 'x'], { CODEPLANE_HOME: mkdtempSync(join(tmpdir(), 'cpl-none-')) });
    assert.equal(none.code, 2);
    assert.match(none.out, /no server is running/);
  });
});
