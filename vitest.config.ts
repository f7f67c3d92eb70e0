import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const impl = fileURLToPath(new URL('./impl/', import.meta.url));

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
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '**/node_modules/**', 'dist/**', 'impl/dist/**', 'fuzz/build/**', '.cache/**'],
    reporters: ['default', './scripts/vitest/closing-line-reporter.ts'],
    testTimeout: 20_000,
    hookTimeout: 300_000,
    // Two cores: the fuzz campaigns, the conformance run and the interop suite each load the
    // machine fully, and verdicts that depend on timeouts must not depend on what runs beside
    // them. Files therefore run one after another; tests inside a file may still be concurrent.
    fileParallelism: false,
  },
});
