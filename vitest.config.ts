import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const impl = fileURLToPath(new URL('./impl/', import.meta.url));

/**
 * The version the reference implementation reproduces: upstream lua-resty-websocket v0.12, where the
 * project's shared folder has it, or the upstream checkout WSLAB_UPSTREAM_LIB names (a lib/ folder:
 * the CI workflow checks out v0.12 and master). Every Lua-facing test runs once against Debian's
 * 0.08 (the default peer, installable anywhere) and once more against this copy.
 */
const UPSTREAM_LIB = process.env.WSLAB_UPSTREAM_LIB || fileURLToPath(new URL('../shared/upstream/lua-resty-websocket-0.12/lib', import.meta.url));
const UPSTREAM_NAME = process.env.WSLAB_UPSTREAM_LIB ? 'upstream' : 'upstream-v0.12';
const hasUpstream = existsSync(`${UPSTREAM_LIB}/resty/websocket/protocol.lua`);

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

// The config is read once per project: say it once.
const said = globalThis as { wslabLegSaid?: boolean };
if (!said.wslabLegSaid) {
  said.wslabLegSaid = true;
  process.stdout.write(
    hasUpstream
      ? `${UPSTREAM_NAME} leg: the Lua-facing tests run again against ${UPSTREAM_LIB}\n`
      : `${UPSTREAM_NAME} leg: skipped (no lua-resty-websocket lib/ at ${UPSTREAM_LIB}); the Lua-facing tests run against one library only\n`,
  );
}

const exclude = ['node_modules/**', '**/node_modules/**', 'dist/**', 'impl/dist/**', 'fuzz/build/**', '.cache/**'];

export default defineConfig({
  // The lab imports the implementation by package name; tests run its TypeScript sources (as
  // tsconfig.json's "paths" does for the type-checker), so impl/ edits need no rebuild. Only the
  // package's entry points (impl/package.json "exports") are mapped, as in tsconfig.json.
  resolve: {
    alias: [
      { find: /^resty-websocket$/, replacement: `${impl}index.ts` },
      { find: /^resty-websocket\/(protocol|server|client|permessage-deflate)$/, replacement: `${impl}$1.ts` },
    ],
  },
  test: {
    reporters: ['default', './scripts/vitest/closing-line-reporter.ts'],
    globalSetup: ['./scripts/vitest/temp-dir.ts'],
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
      ...(hasUpstream
        ? [
            {
              extends: true as const,
              // WSLAB_REPEAT_LEG: this leg repeats tests whose library-independent part already ran in the first.
              test: { name: UPSTREAM_NAME, include: LUA_FACING, exclude, sequence: { groupOrder: 1 }, env: { RESTY_WEBSOCKET_LIB: UPSTREAM_LIB, WSLAB_REPEAT_LEG: '1' } },
            },
          ]
        : []),
    ],
  },
});
