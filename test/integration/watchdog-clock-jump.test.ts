import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job, LogLine } from '../../api/contract.ts';
import { makeRepo } from '../helpers/git-repo.ts';
import { waitFor } from '../helpers/processes.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

/**
 * The wall clock jumps back 100 s (libfaketime, Debian's `faketime` package) while an agent hangs:
 * the watchdog still interrupts it after the configured silence, not 100 s later.
 *
 * libfaketime is preloaded into the server, and through the environment into its worker and the
 * agent CLI; it reads the offset from a file, so the test moves the clock while they run.
 * DONT_FAKE_MONOTONIC=1: by default libfaketime also shifts CLOCK_MONOTONIC, which is what
 * `performance.now()`, `process.hrtime` and libuv's own timers read; shifted back 100 s, every
 * timer in the process would stall for 100 s (tried: a 1.5 s setTimeout did not fire within 4 s),
 * which no real clock change does. A real clock change (NTP, a user, a VM resumed) moves only
 * CLOCK_REALTIME: that is what this test does.
 */
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const WATCHDOG_MS = 20_000;

describe('the watchdog when the wall clock jumps back', () => {
  let server: ServerProcess;
  let offsetFile: string;
  let repo: string;
  before(async () => {
    repo = makeRepo();
    assert.ok(existsSync(LIBFAKETIME), `libfaketime at ${LIBFAKETIME} (apt-get install faketime)`);
    offsetFile = join(mkdtempSync(join(tmpdir(), 'cpl-faketime-')), 'offset');
    writeFileSync(offsetFile, '+0\n');
    // Workers at the server's own priority: a niced worker starves on a loaded CI machine, and this test is about clocks.
    const home = mkdtempSync(join(tmpdir(), 'cpl-faketime-home-'));
    // libfaketime's settings are not in the worker's environment allow-list: listed (LD_PRELOAD is the server's runtime, which the worker keeps).
    // Sandbox off: libfaketime shares its clock through POSIX shared memory in the host's /dev/shm,
    // which the sandbox replaces with a private one (the preloaded library then fails inside it).
    writeFileSync(join(home, 'config.json'), JSON.stringify({ workerNice: 0, agentEnv: ['FAKETIME*', 'DONT_FAKE_MONOTONIC'], sandbox: 'off' }));
    server = await startServerProcess({
      cwd: repo,
      home,
      env: {
        LD_PRELOAD: LIBFAKETIME,
        FAKETIME_TIMESTAMP_FILE: offsetFile,
        FAKETIME_CACHE_DURATION: '1',
        DONT_FAKE_MONOTONIC: '1',
        CODEPLANE_WATCHDOG_MS: String(WATCHDOG_MS),
      },
    });
  });
  after(async () => {
    await server?.stop();
  });

  it('interrupts a hung agent after the configured silence, on the monotonic clock', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const created = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'think forever [[hang]]', agent: 'claude', permissionMode: 'full_auto' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const job = created.body;
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'running', 60_000, 'running');
    // The agent's last sign of life, then silence.
    let hangLogged = false;
    const poll = setInterval(() => {
      void api<LogLine[]>(server.url, 'GET', `/api/jobs/${job.id}/logs?limit=5000`).then((r) => {
        hangLogged ||= r.body.some((l) => l.message.includes('hanging: ignoring everything'));
      });
    }, 100);
    try {
      await waitFor(() => hangLogged, 30_000, 'the agent to hang');
    } finally {
      clearInterval(poll);
    }
    writeFileSync(offsetFile, '-100\n');
    const jumped = Date.now();
    assert.equal((await api<Job>(server.url, 'GET', `/api/jobs/${job.id}`)).body.state, 'running', 'the clock jumped while the watchdog was counting');
    // Bounded: the configured silence (20 s) plus slack for a loaded machine, well short of the 100 s the jump would add.
    const failed = await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'failed', 70_000, 'the watchdog to fire');
    sse.close();
    assert.equal(failed.data['reason'], 'the agent produced no output for 20 s; interrupted');
    // The jump really happened where it matters: the worker stamped the failure with its (faked) wall clock.
    const stamped = Date.parse(String(failed.data['ts']));
    assert.ok(stamped < Date.now() - 60_000, `the worker's clock was set back (event at ${failed.data['ts']}, now ${new Date().toISOString()})`);
    assert.ok(Date.now() - jumped < 70_000);
  });
});
