import { assertNever } from '../../machines/decode.ts';
import type { PermissionMode } from '../../machines/job-spec.ts';
import type { PermissionRequest } from '../agents/adapter.ts';
import { analyzeShell } from './shell-analysis.ts';
import { Containment, type Finding, type FsFacts } from './shell-paths.ts';

export type { FsFacts } from './shell-paths.ts';

/**
 * The one permission policy every agent adapter goes through, so a mode means
 * the same thing whichever agent runs. Pure: the filesystem is seen only
 * through the optional `fs` provider (realpath, for symlinks).
 *
 *                     read inside   read-only cmd   write / other cmd   url, mcp   hard gate / not judged / outside / unparseable
 *  full_auto          allow         allow           allow               allow      ask (explicit)
 *  review_and_approve allow         allow           ask                 ask        ask (explicit)
 *  observe_only       allow         allow           deny                deny       deny
 *
 * The operating system's sandbox is the boundary of a job; this policy is the
 * layer that decides what to ask. It denies by default what it cannot judge:
 * "not judged" is code it cannot read (`node -e`, `python -c`, an awk program
 * calling system()), a program handed to a command in an option or a
 * variable (`--upload-pack=`, `--compress-program=`, `GIT_EXTERNAL_DIFF=`,
 * `git -c`), a variable set for a command, and an option of a wrapper it does
 * not know. A command is read-only only with options known to be read-only,
 * and network commands (`git ls-remote`, `curl`, `dig`) are not read-only:
 * observe_only denies them, so nothing leaves the machine there.
 *
 * "explicit" asks are the ones a human must look at individually: the reason
 * says what was found. Network access is allowed in full_auto because it does
 * not escape the worktree's files (the agent needs docs and packages); it asks
 * in review mode and is denied in observe_only. Known limits: a program's own
 * behaviour is not analysed (`npm test`, `python x.py` run what the worktree
 * holds, which is part of the reviewed diff); what xargs or a loop reads at
 * run time is only trusted when it comes from a listing of the worktree.
 */
export type PolicyVerdict =
  | { action: 'allow' }
  | { action: 'ask'; explicit: boolean; reason?: string }
  | { action: 'deny'; message: string };

const PATH_KEYS = ['file_path', 'path', 'notebook_path', 'fileName', 'blockedPath'] as const;
const MAX_REASON = 600;

export function decide(mode: PermissionMode, req: PermissionRequest, worktree: string, fs?: FsFacts): PolicyVerdict {
  try {
    return decideRequest(mode, req, worktree, fs);
  } catch (e) {
    // A fault in the policy (or in the filesystem provider) must not approve anything, nor crash the worker.
    const why = `the policy could not judge this request (${e instanceof Error ? e.message : String(e)}); what cannot be judged is never approved automatically`;
    return mode === 'observe_only' ? observeDeny(`the request ${clip(req.summary, 120)}`, why) : { action: 'ask', explicit: true, reason: clip(why, MAX_REASON) };
  }
}

function decideRequest(mode: PermissionMode, req: PermissionRequest, worktree: string, fs?: FsFacts): PolicyVerdict {
  const c = new Containment(worktree, fs);
  switch (req.kind) {
    case 'read':
      return judge(mode, `reading ${req.summary}`, { gates: [], outside: pathFindings(req, c), readOnly: true });
    case 'write': {
      const paths = requestPaths(req);
      const gates = paths.filter((p) => !p.text.startsWith('~') && c.isGitMetadata(c.resolve(c.root, p.text)));
      const outside = paths.length === 0 ? [{ subject: req.toolName, why: 'names no file, so it cannot be checked against the worktree' }] : pathFindings(req, c);
      return judge(mode, `writing ${req.summary}`, {
        gates: gates.map((p) => ({ subject: p.text, why: "modifies a .git directory (the worktree's link to its repository, or a nested repository's config and hooks, which git runs)" })),
        outside,
        readOnly: false,
      });
    }
    case 'shell':
      return decideShell(mode, req, c);
    case 'url':
    case 'mcp':
      return judge(mode, `${req.kind === 'url' ? 'network access' : 'the MCP tool'} ${req.summary}`, { gates: [], outside: [], readOnly: false });
    case 'other':
      return judge(mode, `${req.toolName}`, { gates: [], outside: pathFindings(req, c), readOnly: false });
    default:
      return assertNever(req.kind, 'permission kind');
  }
}

function decideShell(mode: PermissionMode, req: PermissionRequest, c: Containment): PolicyVerdict {
  const command = req.detail.command ?? req.detail.fullCommandText;
  if (typeof command !== 'string' || command.trim() === '')
    return judge(mode, `the shell request ${req.summary}`, { gates: [], outside: [{ subject: req.toolName, why: 'carries no command text to check' }], readOnly: false });
  const what = `running ${quote(clip(command, 120))}`;
  const a = analyzeShell(command, c);
  if (a.parseError !== undefined) {
    const why = `the command could not be analysed (${a.parseError}); what cannot be analysed is never approved automatically`;
    return mode === 'observe_only' ? observeDeny(what, why) : { action: 'ask', explicit: true, reason: clip(why, MAX_REASON) };
  }
  // Copilot names the paths it expects a command to touch: they must be inside too.
  const outside = [...a.outside, ...pathFindings(req, c)];
  const first = a.notReadOnly[0];
  const why = first === undefined ? undefined : `${quote(first.text)} is not a read-only command${first.why ? ` (${first.why})` : ''}`;
  return judge(mode, what, { gates: a.gates, opaque: a.opaque, outside, readOnly: first === undefined }, why);
}

interface Assessment {
  gates: Finding[];
  /** What the policy cannot judge: asked in every mode, like a gate. */
  opaque?: Finding[];
  outside: Finding[];
  readOnly: boolean;
}

function judge(mode: PermissionMode, what: string, a: Assessment, notReadOnlyWhy?: string): PolicyVerdict {
  const problems = [
    ...a.gates.map((g) => `hard gate: ${quote(g.subject)} ${g.why}`),
    ...a.outside.map((f) => `${quote(f.subject)} ${f.why}`),
    ...(a.opaque ?? []).map((f) => `not judged: ${quote(f.subject)} ${f.why}`),
  ];
  if (mode === 'observe_only') {
    if (a.readOnly && problems.length === 0) return { action: 'allow' };
    return observeDeny(what, problems.length > 0 ? problems.join('; ') : (notReadOnlyWhy ?? 'it would change something'));
  }
  if (problems.length > 0) return { action: 'ask', explicit: true, reason: clip(problems.join('; '), MAX_REASON) };
  if (mode === 'full_auto' || a.readOnly) return { action: 'allow' };
  if (mode === 'review_and_approve') return { action: 'ask', explicit: false };
  return assertNever(mode, 'permission mode');
}

function observeDeny(what: string, why: string): PolicyVerdict {
  return {
    action: 'deny',
    message: `This job is observe-only: ${what} was refused (${clip(why, MAX_REASON)}). Only reading files inside the worktree and read-only commands are allowed.`,
  };
}

interface RequestPath {
  text: string;
  glob: boolean;
}

/** The paths a tool request names (Claude's file_path/path/notebook_path, Copilot's fileName/possiblePaths, Glob's pattern). */
function requestPaths(req: PermissionRequest): RequestPath[] {
  const out: RequestPath[] = [];
  for (const key of PATH_KEYS) {
    const v = req.detail[key];
    if (typeof v === 'string' && v !== '') out.push({ text: v, glob: false });
  }
  const possible = req.detail.possiblePaths;
  if (Array.isArray(possible)) for (const p of possible) if (typeof p === 'string' && p !== '') out.push({ text: p, glob: false });
  const pattern = req.detail.pattern;
  if (req.toolName === 'Glob' && typeof pattern === 'string' && pattern !== '') out.push({ text: pattern, glob: true });
  return out;
}

/** Tools resolve relative paths against the worktree (the agent's working directory). */
function pathFindings(req: PermissionRequest, c: Containment): Finding[] {
  const seen = new Set<string>();
  return requestPaths(req)
    .flatMap((p) => c.check(p.text, [c.root], { glob: p.glob }))
    .filter((f) => !seen.has(f.subject) && (seen.add(f.subject), true));
}

/** Code-quoted for the reader; text that itself holds backquotes gets double quotes. */
function quote(t: string): string {
  return t.includes('`') ? `"${t}"` : `\`${t}\``;
}

function clip(t: string, n: number): string {
  const line = t.replace(/\s*\n\s*/g, ' ⏎ ');
  return line.length > n ? `${line.slice(0, n - 1)}…` : line;
}
