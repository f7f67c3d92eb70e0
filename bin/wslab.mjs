#!/usr/bin/env node
// The one CLI. It runs the compiled dist/ (`npm run build`; `npm start` and `npm test` build
// first), so it needs no TypeScript at run time. In a checkout, WSLAB_FROM_SOURCE=1 runs the
// TypeScript sources through tsx instead (no rebuild after an edit).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
let main;
if (process.env.WSLAB_FROM_SOURCE !== '1' && existsSync(built)) {
  ({ main } = await import(built.href));
} else if (existsSync(new URL('../cli/main.ts', import.meta.url))) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    process.stderr.write('wslab: not built yet and tsx is not installed: run `npm run build` (or `npm install`) first\n');
    process.exit(2);
  }
  ({ main } = await import('../cli/main.ts'));
} else {
  process.stderr.write('wslab: dist/cli/main.js is missing: this installation is incomplete\n');
  process.exit(2);
}
process.exitCode = await main(process.argv.slice(2));
