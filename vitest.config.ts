import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'fuzz/build/**', '.cache/**'],
    reporters: ['default', './scripts/vitest/closing-line-reporter.ts'],
    testTimeout: 20_000,
    hookTimeout: 300_000,
    // Two cores: the fuzz campaigns, the conformance run and the interop suite each load the
    // machine fully, and verdicts that depend on timeouts must not depend on what runs beside
    // them. Files therefore run one after another; tests inside a file may still be concurrent.
    fileParallelism: false,
  },
});
