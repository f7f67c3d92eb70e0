import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'fuzz/build/**', '.cache/**'],
    reporters: ['default', './scripts/vitest/closing-line-reporter.ts'],
    testTimeout: 20_000,
    hookTimeout: 120_000,
    // Two cores: files that start nginx or fuzzers must not starve each other.
    maxWorkers: 2,
  },
});
