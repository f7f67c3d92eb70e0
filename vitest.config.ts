import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const impl = fileURLToPath(new URL('./impl/', import.meta.url));

/**
 * The version the reference implementation reproduces: upstream lua-resty-websocket v0.12, where the
 * project's shared folder has it. Every Lua-facing test runs once against Debian's 0.08 (the default
 * peer, installable anywhere) and once more against this copy.
 */
const V012_LIB = fileURLToPath(new URL('../shared/upstream/lua-resty-websocket-0.12/lib', import.meta.url));
const hasV012 = existsSync(`${V012_LIB}/resty/websocket/protocol.lua`);

/** The tests that load the Lua library (peer, oracle, agents, mutants): the ones the v0.12 leg runs. */
const LUA_FACING = [
  'conformance/conformance.test.ts',
  'conformance/deviations/*.test.ts',
  'conformance/interop/interop.test.ts',
  'conformance/interop/scenario-file.test.ts',
  'fuzz/diff/*.test.ts',
  'fuzz/session/session.test.ts',
  'fuzz/service/service-lua.test.ts',
  'fuzz/mutate/mutate.test.ts',
  'lab/peers/native/native.test.ts',
  'lab/session/known.test.ts',
];

if (!hasV012) {
  process.stdout.write(`v0.12 leg: skipped (no upstream lua-resty-websocket v0.12 at ${V012_LIB}); the Lua-facing tests run against Debian's 0.08 only\n`);
}

const exclude = ['node_modules/**', '**/node_modules/**', 'dist/**', 'impl/dist/**', 'fuzz/build/**', '.cache/**'];

export default defineConfig({
  // The lab imports the implementation by package name; tests run its TypeScript sources (as
  // tsconfig.json's "paths" does for the type-checker), so impl/ edits need no rebuild.
  resolve: {
    alias: [
      { find: /^resty-websocket$/, replacement: `${impl}index.ts` },
      { find: /^resty-websocket\/(.+)$/, replacement: `${impl}$1.ts` },
    ],
  },
  test: {
    reporters: ['default', './scripts/vitest/closing-line-reporter.ts'],
    testTimeout: 20_000,
    hookTimeout: 300_000,
    // Two cores: the fuzz campaigns, the conformance run and the interop suite each load the
    // machine fully, and verdicts that depend on timeouts must not depend on what runs beside
    // them. Files therefore run one after another (and the legs one after the other: groupOrder);
    // tests inside a file may still be concurrent.
    fileParallelism: false,
    projects: [
      {
        extends: true as const,
        // the library RESTY_WEBSOCKET_LIB names, else Debian's 0.08
        test: { name: process.env.RESTY_WEBSOCKET_LIB ? 'lua-lib' : 'debian-0.08', include: ['**/*.test.ts'], exclude, sequence: { groupOrder: 0 } },
      },
      ...(hasV012
        ? [
            {
              extends: true as const,
              test: { name: 'upstream-v0.12', include: LUA_FACING, exclude, sequence: { groupOrder: 1 }, env: { RESTY_WEBSOCKET_LIB: V012_LIB } },
            },
          ]
        : []),
    ],
  },
});
