import { execFile } from 'node:child_process';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { bwrapArgs } from '../../machines/bwrap-args.ts';
import { findOnPath } from '../remote/tunnel.ts';

/**
 * Can this machine run agents in the sandbox? Finds bubblewrap (config `bwrapPath`, else
 * `bwrap` on PATH) and runs `true` inside the very namespaces and mounts a job's sandbox uses:
 * a binary that exists but cannot create them (user namespaces disabled, an AppArmor profile
 * that forbids them) answers no, with bubblewrap's own words and the fix.
 */
export type SandboxProbe =
  | { ok: true; bwrap: string; detail: string }
  | { ok: false; code: 'SANDBOX_UNSUPPORTED_PLATFORM' | 'BWRAP_NOT_FOUND' | 'BWRAP_FAILED'; reason: string; fix: string };

const OFF = 'or set "sandbox": "off" in config.json to run agents without it';

/** The bubblewrap binary to use: the configured one (absolute), else `bwrap` from PATH; undefined when there is none. */
export function findBwrap(configured: string | undefined, path = process.env['PATH'] ?? ''): string | undefined {
  if (configured === undefined) return findOnPath('bwrap', path);
  if (!isAbsolute(configured)) return findOnPath(configured, path);
  const abs = resolve(configured);
  return findOnPath(basename(abs), dirname(abs)) === abs ? abs : undefined; // an executable file, or none
}

export function probeSandbox(opts: { bwrapPath?: string; platform?: NodeJS.Platform; path?: string; timeoutMs?: number } = {}): Promise<SandboxProbe> {
  const platform = opts.platform ?? process.platform;
  if (platform !== 'linux') {
    return Promise.resolve({ ok: false, code: 'SANDBOX_UNSUPPORTED_PLATFORM', reason: `CodePlane has no sandbox for ${platform} yet`, fix: `run CodePlane on Linux with bubblewrap, ${OFF}` });
  }
  const bwrap = findBwrap(opts.bwrapPath, opts.path);
  if (!bwrap) {
    const where = opts.bwrapPath !== undefined ? `"${opts.bwrapPath}" (config bwrapPath) was not found` : 'bubblewrap (bwrap) is not installed (not found on PATH)';
    return Promise.resolve({ ok: false, code: 'BWRAP_NOT_FOUND', reason: where, fix: `install bubblewrap (apt-get install bubblewrap, dnf install bubblewrap, pacman -S bubblewrap), ${OFF}` });
  }
  // The same options and mounts as a job's sandbox, around `true`, in a directory every machine has.
  const args = [...bwrapArgs({ worktree: '/', readOnlyWorktree: true, writable: [], hidden: [], cwd: '/' }), '--', 'true'];
  return new Promise((resolve) => {
    execFile(bwrap, args, { timeout: opts.timeoutMs ?? 10_000, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (!err) return resolve({ ok: true, bwrap, detail: `${bwrap} runs agents in user namespaces` });
      const said = (stderr.trim() || err.message).split('\n')[0]?.slice(0, 300) ?? '';
      resolve({
        ok: false,
        code: 'BWRAP_FAILED',
        reason: `${bwrap} cannot create the sandbox: ${said}`,
        fix: `enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; on Ubuntu 24.04+ allow bwrap in AppArmor or set kernel.apparmor_restrict_unprivileged_userns=0), ${OFF}`,
      });
    });
  });
}
