// Per-segment metrics: one CloudWatch embedded-metric-format (EMF) line per restored segment
// on stdout (the awslogs driver ships it; CloudWatch extracts the metrics), and the same facts
// in segments/<sn>.json for `swiftvr status`.

export interface SegmentMetrics {
  readonly job: string;
  readonly sn: number;
  readonly frames: number;
  /** Frames per wall second, fetch to published. */
  readonly fps: number;
  readonly processingSeconds: number;
  /** Sent to received. */
  readonly queueWaitSeconds: number;
  /** Live only: from the segment being live at the source (PROGRAM-DATE-TIME + duration, or first seen) to listed. */
  readonly lagSeconds?: number;
  readonly bytes: number;
  readonly duration: number;
  readonly codecs: string;
  /** The restored segment's picture size and frame rate (what the multivariant lists). */
  readonly width: number;
  readonly height: number;
  readonly frameRate: { readonly num: number; readonly den: number };
  readonly attempt: number;
  readonly worker: string;
  readonly at: string;
}

export const METRICS_NAMESPACE = 'SwiftVR';

/** The EMF document for one segment: metrics by Stream, and all of them fleet-wide. */
export function segmentMetricsLine(m: SegmentMetrics, now = Date.now()): Record<string, unknown> {
  const metrics = [
    { Name: 'Frames', Unit: 'Count' },
    { Name: 'Fps', Unit: 'Count/Second' },
    { Name: 'ProcessingSeconds', Unit: 'Seconds' },
    { Name: 'QueueWaitSeconds', Unit: 'Seconds' },
    ...(m.lagSeconds === undefined ? [] : [{ Name: 'LagSeconds', Unit: 'Seconds' }]),
  ];
  return {
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['Stream'], []], Metrics: metrics }],
    },
    event: 'segment-done',
    Stream: m.job,
    sn: m.sn,
    Frames: m.frames,
    Fps: round(m.fps),
    ProcessingSeconds: round(m.processingSeconds),
    QueueWaitSeconds: round(m.queueWaitSeconds),
    ...(m.lagSeconds === undefined ? {} : { LagSeconds: round(m.lagSeconds) }),
    bytes: m.bytes,
    attempt: m.attempt,
    worker: m.worker,
  };
}

const round = (v: number): number => Math.round(v * 1000) / 1000;
