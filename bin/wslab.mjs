#!/usr/bin/env node
// The one CLI. It runs the compiled dist/ (`npm run build`; `npm start` and `npm test` build first),
// so an installed lab needs no TypeScript at run time. In a checkout whose sources changed since the
// last build it runs the TypeScript sources through tsx instead, so an edit never meets a stale
// build; WSLAB_FROM_SOURCE=1 forces that, WSLAB_FROM_SOURCE=0 forces the build.
import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const built = new URL('dist/cli/main.js', root);
const builtLib = new URL('impl/dist/index.js', root);
const source = new URL('cli/main.ts', root);

/** Newest mtime of the .ts sources of a checkout (a few hundred stats: milliseconds). */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'dist' || e.name === 'build') continue;
      const p = new URL(e.name + (e.isDirectory() ? '/' : ''), dir);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ['cli', 'lab', 'conformance', 'fuzz', 'bench', 'impl']) if (existsSync(new URL(`${d}/`, root))) walk(new URL(`${d}/`, root));
  return newest;
}

function useBuild() {
  if (process.env.WSLAB_FROM_SOURCE === '1' || !existsSync(built)) return false;
  if (process.env.WSLAB_FROM_SOURCE === '0' || !existsSync(source)) return true;
  const buildTime = Math.min(statSync(built).mtimeMs, existsSync(builtLib) ? statSync(builtLib).mtimeMs : 0);
  return newestSource() <= buildTime;
}

let main;
if (useBuild()) {
  ({ main } = await import(built.href));
} else if (existsSync(source)) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    process.stderr.write('wslab: not built (or the sources changed) and tsx is not installed: run `npm run build` first\n');
    process.exit(2);
  }
  ({ main } = await import(source.href));
} else {
  process.stderr.write('wslab: dist/cli/main.js is missing: this installation is incomplete\n');
  process.exit(2);
}
process.exitCode = await main(process.argv.slice(2));
