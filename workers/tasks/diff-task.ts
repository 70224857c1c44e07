import { threadId } from 'node:worker_threads';
import type { DiffPage, DiffTaskInput, DiffTaskOutput } from '../../machines/diff-types.ts';
import { DiffParser } from './diff-parse.ts';
import { runGitProcess, spawnHardenedGit } from './git-task.ts';

/**
 * Piscina task: run `git diff` and parse its output into one bounded page,
 * entirely on a pool thread.
 *
 * WHY the git process is read here and not on the supervisor's thread: the
 * patch of a huge change is tens of megabytes. Reading, splitting and parsing
 * it here means the supervisor's event loop (SSE, IPC acks, HTTP) only ever
 * receives the finished, bounded page — never the raw bytes.
 *
 * Imports: machines/ and its own parser only (ARCHITECTURE.md: workers/
 * import machines/). Git runs hardened exactly as on the supervisor's
 * thread: argv and environment come from machines/git-invocation.ts.
 */
export default async function diffTask(input: DiffTaskInput): Promise<DiffTaskOutput> {
  const page = await streamPatch(input);
  // The page's own sums are the whole change's only when the page IS the whole change.
  if (!page.truncated && input.limits.offset === 0) return { ...page, totals: { ...page.stats }, threadId };
  const { totals, perPath } = parseNumstatZ(await gitOutput(input.cwd, input.numstatArgs, input.env));
  // A file cut by the byte budget only counted the lines it kept; numstat knows the real counts.
  for (const f of page.files) {
    const real = f.truncated ? perPath.get(f.path) : undefined;
    if (real) Object.assign(f, real);
  }
  return { ...page, totals, threadId };
}

function streamPatch(input: DiffTaskInput): Promise<DiffPage> {
  const parser = new DiffParser(input.limits);
  return new Promise((resolve, reject) => {
    const child = spawnHardenedGit({ cwd: input.cwd, args: input.patchArgs, env: input.env }, 'ignore');
    let rest: Buffer = Buffer.alloc(0);
    let full = false;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = tail(stderr + c, 8000)));
    child.stdout.on('data', (chunk: Buffer) => {
      if (full) return;
      const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      let pos = 0;
      for (let nl = buf.indexOf(10, pos); nl >= 0; nl = buf.indexOf(10, pos)) {
        // Exact byte accounting: the line's bytes plus its newline.
        if (!parser.push(buf.toString('utf8', pos, nl), nl - pos + 1)) {
          full = true;
          child.stdout.destroy();
          child.kill('SIGTERM'); // the page is full: do not make git produce the rest
          break;
        }
        pos = nl + 1;
      }
      rest = full ? Buffer.alloc(0) : buf.subarray(pos);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (!full && rest.length) parser.push(rest.toString('utf8'), rest.length);
      if (full || code === 0) resolve(parser.finish());
      else reject(new Error(`git ${input.patchArgs.slice(0, 3).join(' ')} … exited ${code}: ${stderr}`));
    });
  });
}

/** The whole stdout of a short git command (numstat is a few bytes per file at any change size). */
async function gitOutput(cwd: string, args: string[], env: DiffTaskInput['env']): Promise<string> {
  const r = await runGitProcess({ cwd, args, env, timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`git ${args.slice(0, 3).join(' ')} … exited ${r.code}: ${tail(r.stderr, 8000)}`);
  return r.stdout;
}

const tail = (s: string, max: number): string => (s.length <= max ? s : s.slice(s.length - max));

/** `A\tD\tpath\0` or, for renames, `A\tD\t\0old\0new\0`; binary files report `-\t-`. */
export function parseNumstatZ(out: string): { totals: DiffTaskOutput['totals']; perPath: Map<string, { additions: number; deletions: number }> } {
  const totals = { files: 0, additions: 0, deletions: 0 };
  const perPath = new Map<string, { additions: number; deletions: number }>();
  const fields = out.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const rec = fields[i]!;
    if (!rec) continue;
    // Split on the first two TABs only: a path may itself contain one.
    const t1 = rec.indexOf('\t');
    const t2 = rec.indexOf('\t', t1 + 1);
    const [a, d, inlinePath] = [rec.slice(0, t1), rec.slice(t1 + 1, t2), rec.slice(t2 + 1)];
    let path = inlinePath;
    if (!inlinePath) {
      path = fields[i + 2] ?? '';
      i += 2;
    }
    const counts = { additions: a === '-' ? 0 : Number(a), deletions: d === '-' ? 0 : Number(d) };
    totals.files += 1;
    totals.additions += counts.additions;
    totals.deletions += counts.deletions;
    perPath.set(path, counts);
  }
  return { totals, perPath };
}
