// BANDWIDTH and AVERAGE-BANDWIDTH measured from a rendition's segments (RFC 8216 §4.3.4.2).
import { describe, expect, it } from 'vitest';

import { measureBandwidth } from '../../src/hls/bandwidth.js';

describe('4.3.4.2 BANDWIDTH and AVERAGE-BANDWIDTH from produced segments', () => {
  it('"the peak segment bit rate": the highest rate over runs of 0.5 to 1.5 target durations', () => {
    // target 2 s: single 2 s segments qualify; the 0.4 s burst alone does not (< 1 s) but joins runs.
    const segs = [
      { bytes: 250_000, duration: 2 }, // 1.0 Mb/s
      { bytes: 100_000, duration: 0.4 }, // 2.0 Mb/s alone, too short to count
      { bytes: 300_000, duration: 2 }, // 1.2 Mb/s; with the burst: 400000*8/2.4 = 1.333 Mb/s
    ];
    const { peak, average } = measureBandwidth(segs, 2);
    expect(peak).toBe(Math.ceil((400_000 * 8) / 2.4));
    expect(average).toBe(Math.ceil((650_000 * 8) / 4.4));
  });

  it('one short segment still gives its own rate', () => {
    expect(measureBandwidth([{ bytes: 1000, duration: 0.2 }], 6)).toEqual({ peak: 40_000, average: 40_000 });
  });
});
