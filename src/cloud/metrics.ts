// Per-segment metrics: one CloudWatch embedded-metric-format (EMF) line per restored segment
// on stdout (the awslogs driver ships it; CloudWatch extracts the metrics), and the same facts
// in segments/<sn>.json for `swiftvr status`.
import type { Codecs } from '../types.js';
import type { PictureReport } from '../media/picture.js';

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
  readonly codecs: Codecs;
  /** The restored segment's picture size and frame rate (what the multivariant lists). */
  readonly width: number;
  readonly height: number;
  readonly frameRate: { readonly num: number; readonly den: number };
  /** Published as a plain upscale instead of restored (live: late, or the restore failed). */
  readonly fallback: boolean;
  readonly fallbackReason?: string;
  /** Mean luma change the model made (8-bit levels); restored segments only. */
  readonly changed?: number;
  /** Restored jump at the segment's start over the source's (1: no seam); restored segments only. */
  readonly boundaryFlicker?: number;
  /** Fidelity to the source (restored, area-downscaled, against the decoded source): PSNR-Y dB and SSIM-Y; restored segments only. */
  readonly fidelityPsnrY?: number;
  readonly fidelitySsimY?: number;
  /** Picture properties the segment kept, what was applied to keep their meaning, what it dropped. */
  readonly picture?: PictureReport;
  readonly attempt: number;
  readonly worker: string;
  readonly at: string;
}

export const METRICS_NAMESPACE = 'SwiftVR';

/** The `segment-done` log line: an embedded-metric (EMF) document. */
export interface SegmentDoneLine {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
  readonly event: 'segment-done';
  readonly Stream: string;
  readonly sn: number;
  readonly Frames: number;
  readonly Fps: number;
  readonly ProcessingSeconds: number;
  readonly QueueWaitSeconds: number;
  readonly LagSeconds?: number;
  readonly Fallback?: 0 | 1;
  readonly fallbackReason?: string;
  readonly ChangedLevels?: number;
  readonly BoundaryFlicker?: number;
  readonly FidelityPsnrY?: number;
  readonly bytes: number;
  readonly attempt: number;
  readonly worker: string;
}

/** The EMF document for one segment: metrics by Stream, and all of them fleet-wide. */
export function segmentMetricsLine(m: SegmentMetrics, now = Date.now()): SegmentDoneLine {
  const metrics = [
    { Name: 'Frames', Unit: 'Count' },
    { Name: 'Fps', Unit: 'Count/Second' },
    { Name: 'ProcessingSeconds', Unit: 'Seconds' },
    { Name: 'QueueWaitSeconds', Unit: 'Seconds' },
    // Live only. Fallback: 1 for a segment published as a plain upscale, 0 for a restored one; its
    // average is the live plain share (VOD segments never fall back and would dilute it).
    ...(m.lagSeconds === undefined
      ? []
      : [
          { Name: 'LagSeconds', Unit: 'Seconds' },
          { Name: 'Fallback', Unit: 'Count' },
        ]),
    ...(m.changed === undefined ? [] : [{ Name: 'ChangedLevels', Unit: 'None' }]),
    ...(m.boundaryFlicker === undefined ? [] : [{ Name: 'BoundaryFlicker', Unit: 'None' }]),
    ...(m.fidelityPsnrY === undefined ? [] : [{ Name: 'FidelityPsnrY', Unit: 'None' }]),
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
    ...(m.lagSeconds === undefined ? {} : { LagSeconds: round(m.lagSeconds), Fallback: m.fallback ? (1 as const) : (0 as const) }),
    ...(m.fallbackReason === undefined ? {} : { fallbackReason: m.fallbackReason }),
    ...(m.changed === undefined ? {} : { ChangedLevels: round(m.changed) }),
    ...(m.boundaryFlicker === undefined ? {} : { BoundaryFlicker: round(m.boundaryFlicker) }),
    ...(m.fidelityPsnrY === undefined ? {} : { FidelityPsnrY: round(m.fidelityPsnrY) }),
    bytes: m.bytes,
    attempt: m.attempt,
    worker: m.worker,
  };
}

const round = (v: number): number => Math.round(v * 1000) / 1000;
