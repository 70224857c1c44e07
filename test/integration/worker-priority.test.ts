/**
 * Job workers run at a lower CPU priority than the server (config
 * `workerNice`, default 10), and their agent CLI and the tools it runs
 * inherit it: when agents and their builds saturate the machine, the UI,
 * approvals and the event stream still get the CPU first.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { pidsByCommandLine, waitFor, workerPid } from '../helpers/processes.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

/** The nice value of a live process, from /proc (field 19 of stat). */
function niceOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** The nice value of a process's scheduling autogroup (its session), when the kernel has autogroups. */
function groupNiceOf(pid: number): number | undefined {
  try {
    return Number(/nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
}

/** Whether this kernel has autogroups that this user may set (writing our own group's value back is a no-op). */
function autogroupsSettable(): boolean {
  try {
    const own = groupNiceOf(process.pid);
    if (own === undefined) return false;
    writeFileSync('/proc/self/autogroup', String(own));
    return true;
  } catch {
    return false;
  }
}

const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

/** Starts a job whose tool writes its shell's pid and waits; returns the server's, worker's, CLI's and tool's nice values. */
async function niceValues(config: Record<string, unknown>): Promise<{ server: number; worker: number; cli: number; tool: number; workerGroup: number | undefined }> {
  const repo = makeRepo('cpl-nice-');
  const home = mkdtempSync(join(tmpdir(), 'cpl-home-'));
  writeFileSync(join(home, 'config.json'), JSON.stringify(config));
  const server = await startServerProcess({ cwd: repo, home });
  servers.push(server);
  const sse = await SseClient.open(`${server.url}/api/events`);
  try {
    // The tool is found by its unique command line: in the job's sandbox its own `$$` is a pid-namespace pid.
    const sleep = `3.0${process.pid}${Date.now() % 10_000}`;
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: `[[bash exec sleep ${sleep}]]`, agent: 'claude', permissionMode: 'full_auto' });
    let tool: number | undefined;
    await waitFor(() => (tool = pidsByCommandLine(`sleep ${sleep}`)[0]) !== undefined, 30_000, 'the tool to start');
    const worker = workerPid(job.id)!;
    // The worker's child: the agent CLI, or (sandboxed) bubblewrap holding it; both run at the priority they inherit.
    const cli = childrenOf(worker)[0]!;
    const values = { server: niceOf(server.child.pid!), worker: niceOf(worker), cli: niceOf(cli), tool: niceOf(tool!), workerGroup: groupNiceOf(worker) };
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'review', 30_000, 'review');
    return values;
  } finally {
    sse.close();
  }
}

describe('worker priority', () => {
  it('workers, their agent CLI and its tools run 10 nice levels below the server by default', async () => {
    const own = getPriority();
    const v = await niceValues({});
    assert.equal(v.server, own);
    const expected = Math.min(19, own + 10);
    assert.deepEqual({ worker: v.worker, cli: v.cli, tool: v.tool }, { worker: expected, cli: expected, tool: expected });
    // A worker is its own session: where the kernel groups sessions, the group is lowered too (else nice alone does nothing against the server).
    if (autogroupsSettable()) assert.equal(v.workerGroup, expected);
  });

  it('workerNice 0 keeps them at the server priority; a bad value stops startup with a clear message', async () => {
    const own = getPriority();
    const v = await niceValues({ workerNice: 0 });
    assert.deepEqual({ ...v, workerGroup: undefined }, { server: own, worker: own, cli: own, tool: own, workerGroup: undefined });
    if (autogroupsSettable()) assert.equal(v.workerGroup, 0, 'a new session starts at the default group priority');
    const repo = makeRepo('cpl-nice-bad-');
    const home = mkdtempSync(join(tmpdir(), 'cpl-home-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ workerNice: 25 }));
    await assert.rejects(startServerProcess({ cwd: repo, home }), /workerNice/);
  });
});
