// The per-segment EMF line: every metric the directive names is a top-level number of the document.

import { describe, expect, it } from 'vitest';
import { segmentMetricsLine, type SegmentMetrics } from '../../src/cloud/metrics.js';

const m: SegmentMetrics = {
  job: 'show/index',
  sn: 7,
  frames: 20,
  fps: 12.3456,
  processingSeconds: 1.62,
  queueWaitSeconds: 0.25,
  lagSeconds: 3.5,
  bytes: 1000,
  duration: 2,
  codecs: { video: 'avc1.64001f', audio: [] },
  width: 640,
  height: 360,
  frameRate: { num: 25, den: 1 },
  fallback: false,
  attempt: 1,
  worker: 'w',
  at: '2026-01-01T00:00:00.000Z',
};

describe('CloudWatch embedded metric format', () => {
  it('names each metric with a unit and carries its value, by Stream and fleet-wide', () => {
    const line = segmentMetricsLine(m, 1_700_000_000_000);
    const aws = line._aws;
    expect(aws.Timestamp).toBe(1_700_000_000_000);
    const [d] = aws.CloudWatchMetrics;
    expect(d!.Namespace).toBe('SwiftVR');
    expect(d!.Dimensions).toEqual([['Stream'], []]);
    expect(d!.Metrics.map((x) => `${x.Name}:${x.Unit}`)).toEqual([
      'Frames:Count',
      'Fps:Count/Second',
      'ProcessingSeconds:Seconds',
      'QueueWaitSeconds:Seconds',
      'LagSeconds:Seconds',
      'Fallback:Count',
    ]);
    for (const x of d!.Metrics) expect(typeof (line as unknown as Record<string, unknown>)[x.Name], x.Name).toBe('number');
    expect(line).toMatchObject({ Stream: 'show/index', sn: 7, Frames: 20, Fps: 12.346, LagSeconds: 3.5 });
    // JSON-serialisable as one log line.
    expect(JSON.parse(JSON.stringify(line))).toEqual(line);
  });

  it('leaves LagSeconds and Fallback out for VOD segments', () => {
    const { lagSeconds: _, ...vod } = m;
    const line = segmentMetricsLine(vod);
    expect(line).not.toHaveProperty('LagSeconds');
    expect(line).not.toHaveProperty('Fallback');
    expect(JSON.stringify(line._aws)).not.toContain('LagSeconds');
    expect(JSON.stringify(line._aws)).not.toContain('Fallback');
  });
});
