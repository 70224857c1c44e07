#!/usr/bin/env node
// The development loop's `cpl` (npm start, the tests): runs the TypeScript sources through tsx's
// loader. The npm package's `cpl` is dist/cpl.js, built by `npm run build` (scripts/build.mjs) and
// run with plain node; this file is not part of the package.
import { register } from 'tsx/esm/api';

register();
await import('../supervisor/cli/cli.ts');
