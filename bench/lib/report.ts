/**
 * Result rows, the printed table, the JSON file and the RESULTS.md entry.
 * Every row compares a measurement with a baseline measured in the same run.
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { OUT_DIR, ROOT } from './root.ts';

export type Status = 'PASS' | 'MISS' | 'INFO' | 'SKIP' | 'ERROR';

export interface Row {
  /** Issue 8 item number and a short name, e.g. "1 latency". */
  bench: string;
  /** What this row measures, e.g. "p99, 20 jobs × 200 ev/s, 50 clients". */
  name: string;
  measured: number;
  baseline: number;
  unit: string;
  /** measured / baseline (for throughputs, CodePlane / raw). */
  ratio: number;
  /** The goal as text, e.g. "≤ 2× baseline + 5 ms". */
  goal: string;
  status: Status;
  note?: string;
}

export interface BenchOutcome {
  rows: Row[];
  /** Everything else worth keeping (raw samples summaries, counts, settings) for the JSON file. */
  details: Record<string, unknown>;
}

export interface BenchContext {
  log(message: string): void;
  /** Run the CodePlane server under --cpu-prof (profiles land in bench/out/prof-<stamp>/). */
  profileDir?: string;
  /** Smaller workloads (for trying the suite out; not comparable with full runs). */
  quick: boolean;
}

export const row = (r: Omit<Row, 'ratio'> & { ratio?: number }): Row => ({ ...r, ratio: r.ratio ?? r.measured / r.baseline });

export const skipRow = (bench: string, name: string, note: string): Row => ({
  bench, name, measured: NaN, baseline: NaN, unit: '', ratio: NaN, goal: '—', status: 'SKIP', note,
});

export const errorRow = (bench: string, e: unknown): Row => ({
  bench, name: 'failed', measured: NaN, baseline: NaN, unit: '', ratio: NaN, goal: '—', status: 'ERROR',
  note: (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 200),
});

function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return '—';
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  const n = Math.abs(v) >= 10_000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);
  return unit ? `${n} ${unit}` : n;
}

const fmtRatio = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}×` : '—');

export function machine(): Record<string, unknown> {
  const c = cpus();
  return {
    host: hostname(),
    node: process.version,
    cpus: `${c.length} × ${c[0]?.model.trim() ?? '?'}`,
    memGiB: Math.round(totalmem() / 2 ** 30),
    loadAvgAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  };
}

/** The table as plain text (also the body of the RESULTS.md entry). */
export function table(rows: readonly Row[]): string {
  const head = ['benchmark', 'measure', 'measured', 'baseline', 'ratio', 'goal', 'result'];
  const body = rows.map((r) => [r.bench, r.name, fmt(r.measured, r.unit), fmt(r.baseline, r.unit), fmtRatio(r.ratio), r.goal, r.status]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.bench} / ${r.name}: ${r.note}`);
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line), ...(notes.length ? ['', ...notes] : [])].join('\n');
}

export function writeJson(stamp: string, payload: unknown): string {
  mkdirSync(OUT_DIR, { recursive: true });
  const file = join(OUT_DIR, `results-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(payload, null, 2)}\n`);
  return file;
}

export function appendResultsMd(entry: { date: string; machine: Record<string, unknown>; seconds: number; rows: readonly Row[]; args: string[]; comment?: string }): string {
  const file = join(ROOT, 'bench/RESULTS.md');
  if (!existsSync(file))
    writeFileSync(file, '# Benchmark results\n\nOne section per `npm run bench` run (newest last). Ratios compare CodePlane with a raw baseline measured in the same run on the same machine; see bench/README.md for what each benchmark measures.\n');
  const m = entry.machine;
  const lines = [
    '',
    `## ${entry.date}`,
    '',
    `Node ${String(m['node'])} · ${String(m['cpus'])} · ${String(m['memGiB'])} GiB · host ${String(m['host'])} · load average at start ${JSON.stringify(m['loadAvgAtStart'])} · ${entry.seconds.toFixed(0)} s${entry.args.length ? ` · \`${entry.args.join(' ')}\`` : ''}`,
    '',
    table(entry.rows),
    ...(entry.comment ? ['', entry.comment] : []),
    '',
  ];
  appendFileSync(file, lines.join('\n'));
  return file;
}
