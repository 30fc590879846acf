// The quality report of a job: report.json and report.csv beside the multivariant playlist, per
// segment and for the job: what the restoration did (the change from the plain upscale, the
// boundary flicker, plain-upscale fallbacks and why), how faithful it stayed to its input (the
// restored picture area-downscaled to the source size against the decoded source: PSNR-Y, SSIM-Y)
// and what it cost (frames/s, model time). The compare page plots it under the player.
import type { JobEstimate } from '../estimate/estimate.js';
import type { SegmentResult } from '../types.js';

export const REPORT_JSON = 'report.json';
export const REPORT_CSV = 'report.csv';

export interface ReportSegment {
  readonly sn: number;
  /** Seconds from the rendition's start to the segment's start (the player's timeline). */
  readonly start: number;
  readonly duration: number;
  readonly frames: number;
  /** Wall seconds the segment took, and frames/s. */
  readonly seconds: number;
  readonly fps: number;
  readonly fallback: boolean;
  readonly reason?: string;
  readonly fidelityPsnrY?: number;
  readonly fidelitySsimY?: number;
  readonly changed?: number;
  readonly boundaryFlicker?: number;
  readonly modelSeconds?: number;
}

/** What the job took, set beside what its estimate said for the instance type it ran on. */
export interface EstimateCheck {
  /** `local` (this machine's CPU) or the workers' instance type. */
  readonly instanceType: string;
  readonly estimated: {
    /** Whether the instance type had a measurement for the model (else only frames and size). */
    readonly measured: boolean;
    readonly frames: number;
    readonly wallSeconds?: number;
    readonly computeSeconds?: number;
    readonly costUsd?: number;
    /** The median of the measured bit rates at the job's CRF, and the low and high ones. */
    readonly outputBytes?: number;
    readonly outputBytesRange?: readonly [number, number];
  };
  readonly actual: {
    readonly frames: number;
    /** From the job's start to its report. */
    readonly wallSeconds: number;
    /** Seconds the workers spent on its segments (locally: the run's wall seconds). */
    readonly computeSeconds: number;
    readonly costUsd?: number;
    readonly outputBytes: number;
  };
}

/** The check of `estimate` (made before the job) against what the job took on `instanceType`. */
export function estimateCheck(estimate: JobEstimate, instanceType: string, actual: EstimateCheck['actual']): EstimateCheck {
  const row = estimate.instances.find((i) => i.instanceType === instanceType);
  const b = estimate.outputBytes;
  return {
    instanceType,
    estimated: {
      measured: row?.measured === true,
      frames: estimate.frames,
      ...(row?.wallSeconds === undefined ? {} : { wallSeconds: row.wallSeconds }),
      ...(row?.computeSeconds === undefined ? {} : { computeSeconds: row.computeSeconds }),
      ...(row?.costUsd === undefined ? {} : { costUsd: row.costUsd }),
      ...(b === undefined ? {} : { outputBytes: b.median, outputBytesRange: [b.low, b.high] as const }),
    },
    actual: {
      frames: actual.frames,
      wallSeconds: r3(actual.wallSeconds),
      computeSeconds: r3(actual.computeSeconds),
      ...(actual.costUsd === undefined ? {} : { costUsd: Math.round(actual.costUsd * 10000) / 10000 }),
      outputBytes: actual.outputBytes,
    },
  };
}

export interface QualityReport {
  readonly version: 1;
  readonly job: string;
  readonly input: string;
  readonly model: string;
  /** The estimate made before the job beside what it took (absent when none was made). */
  readonly estimate?: EstimateCheck;
  readonly segments: readonly ReportSegment[];
  readonly summary: {
    readonly segments: number;
    readonly frames: number;
    readonly durationSeconds: number;
    readonly restored: number;
    readonly fallbacks: number;
    /** Frames over the sum of the segments' wall seconds. */
    readonly fps: number;
    readonly modelSeconds: number;
    /** Means over the restored segments; the lowest fidelity and the highest flicker name their segment. */
    readonly fidelityPsnrY?: number;
    readonly fidelitySsimY?: number;
    readonly changed?: number;
    readonly boundaryFlicker?: number;
    readonly lowestFidelity?: { readonly sn: number; readonly fidelityPsnrY: number };
    readonly highestFlicker?: { readonly sn: number; readonly boundaryFlicker: number };
  };
}

const r3 = (v: number): number => Math.round(v * 1000) / 1000;
const r5 = (v: number): number => Math.round(v * 100000) / 100000;

function mean(xs: readonly (number | undefined)[]): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length === 0 ? undefined : v.reduce((a, b) => a + b, 0) / v.length;
}

/** The report of segments `results` (in playlist order) with their durations. */
export function qualityReport(o: {
  readonly job: string;
  readonly input: string;
  readonly model: string;
  readonly results: readonly SegmentResult[];
  readonly estimate?: EstimateCheck;
}): QualityReport {
  let start = 0;
  const segments: ReportSegment[] = o.results.map((r) => {
    const s: ReportSegment = {
      sn: r.sn,
      start: r3(start),
      duration: r3(r.duration),
      frames: r.frames,
      seconds: r3(r.seconds),
      fps: r3(r.fps),
      fallback: r.fallback !== undefined,
      ...(r.fallback === undefined ? {} : { reason: r.fallback }),
      ...(r.fidelityPsnrY === undefined ? {} : { fidelityPsnrY: r3(r.fidelityPsnrY) }),
      ...(r.fidelitySsimY === undefined ? {} : { fidelitySsimY: r5(r.fidelitySsimY) }),
      ...(r.changed === undefined ? {} : { changed: r3(r.changed) }),
      ...(r.boundaryFlicker === undefined ? {} : { boundaryFlicker: r3(r.boundaryFlicker) }),
      ...(r.modelSeconds === undefined ? {} : { modelSeconds: r3(r.modelSeconds) }),
    };
    start += r.duration;
    return s;
  });
  const restored = segments.filter((s) => !s.fallback);
  const frames = segments.reduce((n, s) => n + s.frames, 0);
  const seconds = segments.reduce((n, s) => n + s.seconds, 0);
  const withFidelity = restored.filter((s) => s.fidelityPsnrY !== undefined);
  const lowest = withFidelity.reduce<ReportSegment | undefined>(
    (a, s) => (a === undefined || s.fidelityPsnrY! < a.fidelityPsnrY! ? s : a),
    undefined,
  );
  const withFlicker = restored.filter((s) => s.boundaryFlicker !== undefined);
  const flickers = withFlicker.reduce<ReportSegment | undefined>(
    (a, s) => (a === undefined || s.boundaryFlicker! > a.boundaryFlicker! ? s : a),
    undefined,
  );
  const m = {
    fidelityPsnrY: mean(restored.map((s) => s.fidelityPsnrY)),
    fidelitySsimY: mean(restored.map((s) => s.fidelitySsimY)),
    changed: mean(restored.map((s) => s.changed)),
    boundaryFlicker: mean(restored.map((s) => s.boundaryFlicker)),
  };
  return {
    version: 1,
    job: o.job,
    input: o.input,
    model: o.model,
    ...(o.estimate === undefined ? {} : { estimate: o.estimate }),
    segments,
    summary: {
      segments: segments.length,
      frames,
      durationSeconds: r3(start),
      restored: restored.length,
      fallbacks: segments.length - restored.length,
      fps: seconds > 0 ? r3(frames / seconds) : 0,
      modelSeconds: r3(segments.reduce((n, s) => n + (s.modelSeconds ?? 0), 0)),
      ...(m.fidelityPsnrY === undefined ? {} : { fidelityPsnrY: r3(m.fidelityPsnrY) }),
      ...(m.fidelitySsimY === undefined ? {} : { fidelitySsimY: r5(m.fidelitySsimY) }),
      ...(m.changed === undefined ? {} : { changed: r3(m.changed) }),
      ...(m.boundaryFlicker === undefined ? {} : { boundaryFlicker: r3(m.boundaryFlicker) }),
      ...(lowest === undefined ? {} : { lowestFidelity: { sn: lowest.sn, fidelityPsnrY: lowest.fidelityPsnrY! } }),
      ...(flickers === undefined ? {} : { highestFlicker: { sn: flickers.sn, boundaryFlicker: flickers.boundaryFlicker! } }),
    },
  };
}

const CSV_COLUMNS = [
  'sn',
  'start',
  'duration',
  'frames',
  'seconds',
  'fps',
  'fallback',
  'reason',
  'fidelityPsnrY',
  'fidelitySsimY',
  'changed',
  'boundaryFlicker',
  'modelSeconds',
] as const;

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function csvField(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per segment, then a `job` row with the summary's figures in the same columns. */
export function reportCsv(r: QualityReport): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const s of r.segments) rows.push(CSV_COLUMNS.map((c) => csvField(s[c])).join(','));
  const j = r.summary;
  const job: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    sn: 'job',
    start: 0,
    duration: j.durationSeconds,
    frames: j.frames,
    seconds: '',
    fps: j.fps,
    fallback: j.fallbacks,
    reason: '',
    fidelityPsnrY: j.fidelityPsnrY,
    fidelitySsimY: j.fidelitySsimY,
    changed: j.changed,
    boundaryFlicker: j.boundaryFlicker,
    modelSeconds: j.modelSeconds,
  };
  rows.push(CSV_COLUMNS.map((c) => csvField(job[c])).join(','));
  return rows.join('\r\n') + '\r\n';
}
