// The fast tier (`npm run test:unit`): pure logic, no ffmpeg, model, AWS server or browser, chosen
// by file name: `*.unit.test.ts`. Seconds, for every minute of development; the full suite
// (`npm test`) runs these and the media, model, cloud (moto) and browser tiers.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.unit.test.ts', 'cdk/test/**/*.unit.test.ts'],
    pool: 'threads',
  },
});
