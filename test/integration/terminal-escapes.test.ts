import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { waitFor } from '../helpers/processes.ts';
import { api, FAKE_CLAUDE, ROOT } from '../helpers/server-process.ts';

/**
 * `cpl up` on a real terminal (a pseudo-terminal from util-linux `script`), where it prints one
 * line per job event. An agent whose command carries OSC 52 (clipboard), a screen clear, cursor
 * moves, BEL, 8-bit CSI and a right-to-left override must not reach that terminal raw.
 */
const OBEYED = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('the terminal running cpl up', () => {
  let child: ChildProcess;
  let out = '';
  let home: string;
  let url: string;
  let auth: Record<string, string>;
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'cpl-tty-'));
    // Workers at the server's own priority: this test is about the terminal, and a niced worker starves on a loaded CI machine.
    writeFileSync(join(home, 'config.json'), JSON.stringify({ workerNice: 0 }));
    const cmd = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'bin/cpl.js'))} up --port 0`;
    child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: tmpdir(), env: { ...process.env, CODEPLANE_HOME: home, HOME: home, CODEPLANE_CLAUDE_PATH: FAKE_CLAUDE, CPL_PASSWORD: 'terminal escapes test', TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    await waitFor(() => /listening on http:\/\/\S+/.test(out), 60_000, 'the server on the pseudo-terminal');
    url = /listening on (http:\/\/[^\s]+)/.exec(out)![1]!;
    auth = { authorization: `Bearer ${readFileSync(join(home, 'run/cli-token'), 'utf8').trim()}` };
  });
  after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const { pid } = JSON.parse(readFileSync(join(home, 'run/server.json'), 'utf8')) as { pid: number };
      process.kill(pid, 'SIGTERM');
    } catch {
      child.kill('SIGKILL');
    }
    await exited;
  });

  it('shows the escape sequences in a job title and an agent command as text', async () => {
    const repo = makeRepo();
    assert.equal((await api(url, 'POST', '/api/repos', { path: repo }, auth)).status, 201);
    const command = "touch marker && printf '\u001b]52;c;cHduZWQ=\u0007\u001b[2J\u001b[H\u001b[3A\u009b2K\rapproved \u202eevil'";
    const job = await api<Job>(url, 'POST', '/api/jobs', { repo, agent: 'claude', permissionMode: 'review_and_approve', prompt: `Title \u001b]0;pwned\u0007 [[bash ${command}]]` }, auth);
    assert.equal(job.status, 201, JSON.stringify(job.body));
    await waitFor(() => out.includes('needs approval'), 120_000, 'the approval line on the terminal').catch((e: unknown) => {
      throw new Error(`${String(e)}: ${JSON.stringify(out)}`);
    });
    await waitFor(() => /needs approval[^\n]*\n/.test(out), 10_000, "the whole approval line");
    // The pseudo-terminal turns each "\n" into "\r\n"; any other control character came from the agent.
    const printed = out.replace(/\r\n/g, '\n');
    assert.doesNotMatch(printed, OBEYED, 'nothing the terminal would obey');
    assert.match(printed, /created: Title \\x1b\]0;pwned\\x07/);
    assert.match(printed, /needs approval: .*\\x1b\]52;c;cHduZWQ=\\x07\\x1b\[2J\\x1b\[H\\x1b\[3A\\x9b2K\\x0dapproved \\u202eevil/);
  });
});
