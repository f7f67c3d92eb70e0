#!/usr/bin/env node
// The one CLI. It runs the TypeScript sources through tsx so a fresh clone needs no build step
// before `npx wslab ...`; the compiled dist/ is only for people who import the package.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
