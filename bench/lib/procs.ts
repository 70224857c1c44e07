/**
 * Processes by /proc: find everything a benchmark started (by the CODEPLANE_HOME
 * in its environment, so detached job workers and their agent CLIs are found
 * too), read resident memory, and stop them by pid.
 */
import { readFileSync, readdirSync } from 'node:fs';

function pids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function cmdline(pid: number): string {
  return (read(`/proc/${pid}/cmdline`) ?? '').split('\0').join(' ').trim();
}

export function parentOf(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // Field 4, after the parenthesised command (which may hold spaces).
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[1]);
}

/** Every live process whose environment has CODEPLANE_HOME=home (ours: other users' are unreadable). */
export function processesWithHome(home: string): number[] {
  const needle = `\0CODEPLANE_HOME=${home}\0`;
  const out: number[] = [];
  for (const pid of pids()) {
    if (pid === process.pid) continue;
    const env = read(`/proc/${pid}/environ`);
    if (env !== undefined && `\0${env}`.includes(needle)) out.push(pid);
  }
  return out;
}

const WORKER_CMD = /(workers\/main\.ts|dist\/worker\/[0-9a-f]+\/main\.js|dist\/worker\.js) --job /;

/** The job workers running under `home`, and the agent CLIs they started. */
export function workersAndClis(home: string): { workers: number[]; clis: number[] } {
  const procs = processesWithHome(home);
  const workers = procs.filter((p) => WORKER_CMD.test(cmdline(p)));
  const set = new Set(workers);
  return { workers, clis: procs.filter((p) => set.has(parentOf(p) ?? -1)) };
}

/** Resident set size in bytes (VmRSS), or undefined when the process is gone. */
export function rssBytes(pid: number): number | undefined {
  const m = /VmRSS:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Peak resident set size in bytes (VmHWM). */
export function peakRssBytes(pid: number): number | undefined {
  const m = /VmHWM:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) * 1024 : undefined;
}

/** CPU time (user + system) of a process in milliseconds. */
export function cpuMs(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/** SIGKILLs every process that carries this CODEPLANE_HOME, one pid at a time; returns how many there were. */
export function killByHome(home: string): number {
  const found = processesWithHome(home);
  for (const pid of found) killPid(pid);
  return found.length;
}

/** CPU milliseconds so far of the server, all job workers, and all agent CLIs (children of workers). */
export function cpuByRole(home: string, serverPid: number): { server: number; workers: number; clis: number } {
  const procs = processesWithHome(home);
  const workers = new Set(procs.filter((p) => /(workers\/main\.ts|dist\/worker\/[0-9a-f]+\/main\.js|dist\/worker\.js) --job /.test(cmdline(p))));
  let w = 0;
  let c = 0;
  for (const p of procs) {
    if (workers.has(p)) w += cpuMs(p) ?? 0;
    else if (workers.has(parentOf(p) ?? -1)) c += cpuMs(p) ?? 0;
  }
  return { server: cpuMs(serverPid) ?? 0, workers: w, clis: c };
}
