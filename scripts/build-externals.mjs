// What the built package may import at run time, checked on esbuild's metafile by scripts/build.mjs.
import { builtinModules } from 'node:module';

/**
 * The development loop's own bundler: supervisor/workers/worker-bundle.ts imports esbuild only in the
 * `sources` layout (supervisor/install-paths.ts), a branch the built package never takes.
 */
export const DEV_ONLY_IMPORTS = new Map([['supervisor/workers/worker-bundle.ts', new Set(['esbuild'])]]);

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`; `node:x` stays. */
export function packageName(spec) {
  if (spec.startsWith('node:')) return spec;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Every external import of the output that the installed package could not satisfy: anything but
 * node's own modules and `dependencies` (dev tooling, a UI library, a typo), one line each.
 */
export function externalProblems(metafile, dependencies) {
  const allowed = new Set([...Object.keys(dependencies ?? {}), ...builtinModules]);
  const problems = [];
  for (const [input, info] of Object.entries(metafile.inputs)) {
    for (const imp of info.imports) {
      if (!imp.external) continue;
      const name = packageName(imp.path);
      if (name.startsWith('node:') || allowed.has(name)) continue;
      if (imp.kind === 'dynamic-import' && DEV_ONLY_IMPORTS.get(input)?.has(name)) continue;
      problems.push(`${input} imports ${imp.path} (${imp.kind}), which is not in dependencies`);
    }
  }
  return problems;
}

/**
 * The `dependencies` no output module imports (bundled or external): an install would download
 * and build them for nothing. Test-only packages belong in devDependencies.
 */
export function unusedDependencies(metafile, dependencies) {
  const used = new Set();
  for (const [input, info] of Object.entries(metafile.inputs)) {
    const bundled = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (bundled) used.add(bundled[1]);
    for (const imp of info.imports) if (imp.external) used.add(packageName(imp.path));
  }
  return Object.keys(dependencies ?? {}).filter((name) => !used.has(name));
}
