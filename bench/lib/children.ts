/**
 * Every process a benchmark starts is registered here (helper children by
 * handle, CodePlane homes by path), so a run that ends, fails or is
 * interrupted stops all of them, one pid at a time.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { killByHome, killPid } from './procs.ts';
import { ROOT } from './root.ts';

const children = new Set<ChildProcess>();
const homes = new Set<string>();

export function trackHome(home: string): string {
  homes.add(home);
  return home;
}

export function spawnTracked(command: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], ...opts });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** A bench/lib helper script run under tsx. */
export function spawnHelper(script: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  return spawnTracked(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib', script), ...args], { cwd: ROOT, ...opts });
}

/** Resolves with the first stdout line of a child, parsed as JSON. */
export function firstJsonLine<T>(child: ChildProcess, timeoutMs = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no output from child ${child.pid} in ${timeoutMs} ms`)), timeoutMs);
    child.stdout!.setEncoding('utf8');
    const onData = (c: string) => {
      buf += c;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as T);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before printing`)));
  });
}

export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
  if (child.exitCode === null && child.signalCode === null && child.pid) killPid(child.pid);
}

/** Stops every tracked child and every process carrying a tracked CODEPLANE_HOME; returns how many were left over. */
export function killEverything(): number {
  let n = 0;
  for (const c of children) {
    if (c.pid && c.exitCode === null && c.signalCode === null) {
      killPid(c.pid);
      n++;
    }
  }
  children.clear();
  for (const h of homes) n += killByHome(h);
  return n;
}
