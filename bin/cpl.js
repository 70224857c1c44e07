#!/usr/bin/env node
// The `cpl` command. CodePlane runs its TypeScript sources through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../supervisor/cli.ts');
