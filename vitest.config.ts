import { defineConfig } from 'vitest/config';

// Tests that judge a live rendition against the wall clock (latency budgets, a player at the live
// edge): they run last, one file at a time, with the machine to themselves, so another file's
// ffmpeg or model run cannot make a segment late.
const WALL_CLOCK = ['test/cloud/live-chaos.test.ts', 'test/cloud/live-viewer.test.ts', 'test/cloud/live-fallback.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Tests spawn ffmpeg, onnxruntime and a moto server; 2 workers match the 2-core CI machine.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts', 'cdk/test/**/*.test.ts'], exclude: WALL_CLOCK, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'wall-clock', include: WALL_CLOCK, maxWorkers: 1, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
