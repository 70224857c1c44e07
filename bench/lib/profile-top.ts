/**
 * Summarises .cpuprofile files (V8 sampling profiles): self time by function
 * and by package/file, over one or many profiles (e.g. 50 workers).
 *
 *   node --import tsx bench/lib/profile-top.ts FILE_OR_DIR [MATCH] [TOP]
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './root.ts';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  files: number;
  totalMs: number;
  byFunction: [string, number][];
  byModule: [string, number][];
}

function moduleOf(url: string): string {
  if (!url) return '(native/program)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (path.startsWith('node:')) return path;
  return relative(ROOT, path);
}

export function summarizeProfiles(paths: string[], top = 25): ProfileSummary {
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let totalMs = 0;
  for (const p of paths) {
    const prof = JSON.parse(readFileSync(p, 'utf8')) as Profile;
    const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
    const self = new Map<number, number>();
    prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000));
    for (const [id, ms] of self) {
      const n = nodes.get(id)!;
      const f = n.callFrame;
      // Idle time, and the inspector's own `dispatch` (the profiler serialising its profile at stop), are not the program's.
      if (f.functionName === '(idle)' || (f.functionName === 'dispatch' && !f.url)) continue;
      totalMs += ms;
      const key = `${f.functionName || '(anonymous)'} ${moduleOf(f.url)}:${f.lineNumber + 1}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
      const mod = f.functionName === '(garbage collector)' ? '(gc)' : moduleOf(f.url);
      byModule.set(mod, (byModule.get(mod) ?? 0) + ms);
    }
  }
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { files: paths.length, totalMs, byFunction: sorted(byFunction), byModule: sorted(byModule) };
}

export function formatSummary(s: ProfileSummary): string {
  const pct = (ms: number) => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%`;
  return [
    `${s.files} profile(s), ${s.totalMs.toFixed(0)} ms of samples (idle and profiler overhead excluded)`,
    'by module:',
    ...s.byModule.map(([k, ms]) => `  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}`),
    'by function (self time):',
    ...s.byFunction.map(([k, ms]) => `  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}`),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [target, match = '', top = '25'] = process.argv.slice(2);
  const files = statSync(target!).isDirectory()
    ? readdirSync(target!).filter((f) => f.endsWith('.cpuprofile') && f.includes(match)).map((f) => join(target!, f))
    : [target!];
  process.stdout.write(`${formatSummary(summarizeProfiles(files, Number(top)))}\n`);
}
