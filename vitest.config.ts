import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'cdk/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Tests spawn ffmpeg, onnxruntime and a moto server; 2 workers match the 2-core CI machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
