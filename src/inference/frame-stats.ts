// Cheap no-reference signals of what the model changed, computed on the inference thread from the
// frames it already holds: luma only, on a sparse grid of the input (every 4th row and column, wider
// apart on large frames so that a frame costs at most about 4k samples: the thread's time between
// model runs is the accelerator's idle time), the output averaged over the block each sampled input
// pixel became. Fidelity is measured on every 4th frame, on at most about 256 SSIM windows of 8x8
// (the whole frame on small ones). 10-bit frames are read on the 8-bit scale (a sample / 4), so
// figures compare across depths.
import { frameBits } from '../types.js';
import type { YuvFrame } from '../types.js';

/** The luma sample at index `i` of a frame, on the 8-bit scale. */
function lumaReader(f: YuvFrame): (i: number) => number {
  const d = f.data;
  return frameBits(f) === 8 ? (i) => d[i]! : (i) => (d[2 * i]! | (d[2 * i + 1]! << 8)) / 4;
}

const MAX_SAMPLES = 4096;

/** Grid spacing in input pixels for a `width` x `height` input frame. */
export const gridStep = (width: number, height: number): number => Math.max(4, Math.ceil(Math.sqrt((width * height) / MAX_SAMPLES)));

/** Luma samples of an input frame on the grid. */
export function inputSamples(f: YuvFrame): Float32Array {
  const step = gridStep(f.width, f.height);
  const cols = Math.ceil(f.width / step);
  const rows = Math.ceil(f.height / step);
  const out = new Float32Array(cols * rows);
  const at = lumaReader(f);
  let k = 0;
  for (let y = 0; y < f.height; y += step) for (let x = 0; x < f.width; x += step) out[k++] = at(y * f.width + x);
  return out;
}

/** The mean of the `scale` x `scale` output block that input pixel (x, y) became. */
function blockMean(at: (i: number) => number, outWidth: number, x: number, y: number, scale: number): number {
  let sum = 0;
  for (let dy = 0; dy < scale; dy++) {
    const row = (y * scale + dy) * outWidth + x * scale;
    for (let dx = 0; dx < scale; dx++) sum += at(row + dx);
  }
  return sum / (scale * scale);
}

/** Luma samples of an output frame (scale x the input) on the input's grid, each the block mean. */
export function outputSamples(f: YuvFrame, scale: number): Float32Array {
  const w = f.width / scale;
  const h = f.height / scale;
  const step = gridStep(w, h);
  const cols = Math.ceil(w / step);
  const rows = Math.ceil(h / step);
  const out = new Float32Array(cols * rows);
  const at = lumaReader(f);
  let k = 0;
  for (let y = 0; y < h; y += step) for (let x = 0; x < w; x += step) out[k++] = blockMean(at, f.width, x, y, scale);
  return out;
}

/** Frames of a segment whose fidelity is measured: every FIDELITY_EVERY-th, from its first. */
export const FIDELITY_EVERY = 4;
const SSIM_WINDOW = 8;
const MAX_WINDOWS = 256;

/**
 * The stride between fidelity's 8x8 SSIM windows: 4 (overlapping: the whole frame, every pixel in
 * the squared error) up to 16k pixels, else as wide as keeps the windows to about MAX_WINDOWS.
 */
export const windowStride = (width: number, height: number): number =>
  width * height <= 16_384 ? 4 : Math.ceil(Math.sqrt((width * height) / MAX_WINDOWS));

/**
 * Fidelity of one output frame to its input: the output luma area-downscaled (mean of each
 * scale x scale block) against the input luma, both on the 8-bit scale. Returns the mean squared
 * error and the mean SSIM over 8x8 windows (uniform weights, K1 0.01, K2 0.03, peak 255): a
 * restoration that invents content or shifts it moves both. Small frames are measured whole (windows
 * at a stride of 4, the error over every pixel); larger ones on a grid of windows (windowStride), the
 * error over the windows' pixels.
 */
export function fidelity(input: YuvFrame, output: YuvFrame, scale: number): { mse: number; ssim: number } {
  const w = input.width;
  const h = input.height;
  const inY = lumaReader(input);
  const outY = lumaReader(output);
  const stride = windowStride(w, h);
  const win = Math.min(SSIM_WINDOW, w, h);
  // The whole frame: the downscaled output once, shared by the overlapping windows.
  const down = stride < win ? new Float32Array(w * h) : undefined;
  let se = 0;
  let measured = 0;
  if (down !== undefined) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = blockMean(outY, output.width, x, y, scale);
        down[y * w + x] = v;
        const d = v - inY(y * w + x);
        se += d * d;
      }
    }
    measured = w * h;
  }
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  const n = win * win;
  let ssimSum = 0;
  let windows = 0;
  for (let y0 = 0; y0 + win <= h; y0 += stride) {
    for (let x0 = 0; x0 + win <= w; x0 += stride) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let y = y0; y < y0 + win; y++) {
        for (let x = x0; x < x0 + win; x++) {
          const a = inY(y * w + x);
          const b = down !== undefined ? down[y * w + x]! : blockMean(outY, output.width, x, y, scale);
          if (down === undefined) se += (b - a) * (b - a);
          sa += a;
          sb += b;
          saa += a * a;
          sbb += b * b;
          sab += a * b;
        }
      }
      if (down === undefined) measured += n;
      const ma = sa / n;
      const mb = sb / n;
      const va = saa / n - ma * ma;
      const vb = sbb / n - mb * mb;
      const cov = sab / n - ma * mb;
      ssimSum += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      windows++;
    }
  }
  return { mse: measured === 0 ? 0 : se / measured, ssim: windows === 0 ? 1 : ssimSum / windows };
}

/** PSNR of a mean squared error at peak 255 (100 dB for a perfect match). */
export const psnrOf = (mse: number): number => (mse <= 1e-10 ? 100 : 10 * Math.log10((255 * 255) / mse));

export const meanAbsDiff = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return a.length === 0 ? 0 : s / a.length;
};

/** What a segment's restore changed, for telemetry. */
export interface SegmentStats {
  /**
   * Mean absolute luma difference (8-bit levels) between the restored frames, averaged back to the
   * input size, and the input frames: how far the model moved away from its input.
   */
  readonly changed: number;
  /**
   * The jump between the previous segment's last restored frame and this one's first, over the same
   * jump in the input (1: the boundary looks like the source's; above 1: a visible seam). Absent
   * for a stream's first segment.
   */
  readonly boundaryFlicker?: number;
  /**
   * Fidelity to the source, on the segment's measured frames (every FIDELITY_EVERY-th): PSNR of the
   * mean squared error and mean SSIM between the restored luma area-downscaled to the source size
   * and the decoded source luma. High: the restoration kept to what the source shows.
   */
  readonly fidelityPsnrY?: number;
  readonly fidelitySsimY?: number;
  /** Wall seconds in the model's runs for the segment (onnxruntime-node's run, its output copy included). */
  readonly modelSeconds?: number;
  /**
   * CPU milliseconds the inference thread spent on the segment outside the model's runs (taking
   * frames in, laying them out as the model input, these statistics, sending frames out): host
   * work between model runs. Only from an inference thread, on Node versions with
   * process.threadCpuUsage().
   */
  readonly threadHostMs?: number;
}

/** This thread's CPU time in milliseconds, where Node can tell (process.threadCpuUsage, Node >= 23.9). */
export function threadCpuMs(): number | undefined {
  const usage = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage?.();
  return usage === undefined ? undefined : (usage.user + usage.system) / 1000;
}

/** Accumulates SegmentStats over a stream's frames; `endSegment()` closes one segment. */
export class StatsTracker {
  private sum = 0;
  private frames = 0;
  private boundary: number | undefined;
  private atSegmentStart = true;
  private last: { input: Float32Array; output: Float32Array } | undefined;
  private fidelityMse = 0;
  private fidelitySsim = 0;
  private fidelityFrames = 0;

  add(input: YuvFrame, output: YuvFrame, scale: number): void {
    const i = inputSamples(input);
    const o = outputSamples(output, scale);
    this.sum += meanAbsDiff(o, i);
    if (this.frames % FIDELITY_EVERY === 0) {
      const f = fidelity(input, output, scale);
      this.fidelityMse += f.mse;
      this.fidelitySsim += f.ssim;
      this.fidelityFrames++;
    }
    this.frames++;
    if (this.atSegmentStart && this.last !== undefined && this.last.input.length === i.length) {
      const sourceJump = meanAbsDiff(i, this.last.input);
      this.boundary = meanAbsDiff(o, this.last.output) / Math.max(sourceJump, 0.5);
    }
    this.atSegmentStart = false;
    this.last = { input: i, output: o };
  }

  endSegment(): SegmentStats {
    const stats = {
      changed: this.frames === 0 ? 0 : this.sum / this.frames,
      ...(this.boundary === undefined ? {} : { boundaryFlicker: this.boundary }),
      ...(this.fidelityFrames === 0
        ? {}
        : {
            fidelityPsnrY: psnrOf(this.fidelityMse / this.fidelityFrames),
            fidelitySsimY: this.fidelitySsim / this.fidelityFrames,
          }),
    };
    this.sum = 0;
    this.frames = 0;
    this.fidelityMse = 0;
    this.fidelitySsim = 0;
    this.fidelityFrames = 0;
    this.boundary = undefined;
    this.atSegmentStart = true;
    return stats;
  }

  /** The stream starts over (a reset state): no boundary to the frames before. */
  reset(): void {
    this.endSegment();
    this.last = undefined;
  }
}
