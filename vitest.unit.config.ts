// The fast tier (`npm run test:unit`): pure logic, no ffmpeg, model, AWS server or browser.
// Seconds, for every minute of development; the full suite (`npm test`) adds the media, model,
// cloud (moto) and browser tiers.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/hls/rendition-playlist.test.ts',
      'test/hls/multivariant-playlist.test.ts',
      'test/hls/bandwidth.test.ts',
      'test/util/atomic-write.test.ts',
      'test/util/frame-pool.test.ts',
      'test/hls/resource-loader.test.ts',
      'test/inference/model-contract.test.ts',
      'test/media/colour.test.ts',
      'test/pipeline/bounded-queue.test.ts',
      'test/cli/progress.test.ts',
      'test/cloud/jobs-config.test.ts',
      'test/cloud/metrics.test.ts',
      'test/cloud/task-protection.test.ts',
      'cdk/test/config.test.ts',
      'test/events/job-events.test.ts',
      'test/media/picture.test.ts',
    ],
    pool: 'threads',
  },
});
