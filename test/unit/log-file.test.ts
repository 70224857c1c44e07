/**
 * Logging on a full disk (/dev/full answers every write with ENOSPC): lines
 * are dropped and counted, nothing throws, nothing spins, a process exits
 * promptly, and once writing works again one line says how many were lost.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { LogFile } from '../../machines/log-file.ts';
import { ROOT } from '../helpers/server-process.ts';

describe('the log file on a full disk', () => {
  it('drops and counts the lines it cannot write, never throws', () => {
    const fd = openSync('/dev/full', 'w');
    try {
      const file = new LogFile(fd);
      const log = pino({ base: null }, file);
      for (let i = 0; i < 100; i++) log.info({ i }, 'a line nobody can write');
      assert.doesNotThrow(() => file.flushSync());
      assert.equal(file.dropped, 100);
      for (let i = 0; i < 5000; i++) log.info({ i, pad: 'x'.repeat(50) }, 'past the buffer bound: written (and dropped) synchronously');
      file.close();
      assert.equal(file.dropped, 5100);
    } finally {
      closeSync(fd);
    }
  });

  it('says how many lines were lost once writing works again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpl-logfile-'));
    try {
      const path = join(dir, 'a.log');
      writeFileSync(path, '');
      const fd = openSync(path, 'a');
      const file = new LogFile(fd);
      // The same LogFile over /dev/full first: swap the fd the way a full disk comes and goes.
      const full = openSync('/dev/full', 'w');
      const swap = file as unknown as { fd: number };
      Object.defineProperty(swap, 'fd', { value: full, writable: true });
      file.write('{"msg":"lost 1"}\n');
      file.write('{"msg":"lost 2"}\n');
      file.flushSync();
      swap.fd = fd;
      file.write('{"msg":"kept"}\n');
      file.close();
      closeSync(full);
      closeSync(fd);
      const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; logLinesDropped?: number });
      assert.equal(lines.length, 2);
      assert.match(lines[0]!.msg, /2 log line\(s\) were dropped.*ENOSPC/);
      assert.equal(lines[0]!.logLinesDropped, 2);
      assert.equal(lines[1]!.msg, 'kept');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a process logging to a full disk exits at once (no retry loop at exit)', async () => {
    {
      const script = join(ROOT, 'test/fixtures/log-to-full-disk.ts');
      const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      assert.equal(code, 0, `exited by itself, cleanly: ${out}`);
      assert.match(out, /dropped=20001/);
    }
  });
});
