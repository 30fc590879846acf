// Cheap no-reference signals of what the model changed, computed on the inference thread from the
// frames it already holds: luma only, on a sparse grid of the input (every 4th row and column, wider
// apart on large frames so that a frame costs at most about 16k samples: the thread's time between
// model runs is the accelerator's idle time), the output averaged over the block each sampled input
// pixel became.
import type { YuvFrame } from '../types.js';

const MAX_SAMPLES = 16_384;

/** Grid spacing in input pixels for a `width` x `height` input frame. */
export const gridStep = (width: number, height: number): number => Math.max(4, Math.ceil(Math.sqrt((width * height) / MAX_SAMPLES)));

/** Luma samples of an input frame on the grid. */
export function inputSamples(f: YuvFrame): Float32Array {
  const step = gridStep(f.width, f.height);
  const cols = Math.ceil(f.width / step);
  const rows = Math.ceil(f.height / step);
  const out = new Float32Array(cols * rows);
  let k = 0;
  for (let y = 0; y < f.height; y += step) for (let x = 0; x < f.width; x += step) out[k++] = f.data[y * f.width + x]!;
  return out;
}

/** Luma samples of an output frame (scale x the input) on the input's grid, each the block mean. */
export function outputSamples(f: YuvFrame, scale: number): Float32Array {
  const w = f.width / scale;
  const h = f.height / scale;
  const step = gridStep(w, h);
  const cols = Math.ceil(w / step);
  const rows = Math.ceil(h / step);
  const out = new Float32Array(cols * rows);
  const area = scale * scale;
  let k = 0;
  for (let y = 0; y < h; y += step) {
    for (let x = 0; x < w; x += step) {
      let sum = 0;
      for (let dy = 0; dy < scale; dy++) {
        const row = (y * scale + dy) * f.width + x * scale;
        for (let dx = 0; dx < scale; dx++) sum += f.data[row + dx]!;
      }
      out[k++] = sum / area;
    }
  }
  return out;
}

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

  add(input: YuvFrame, output: YuvFrame, scale: number): void {
    const i = inputSamples(input);
    const o = outputSamples(output, scale);
    this.sum += meanAbsDiff(o, i);
    this.frames++;
    if (this.atSegmentStart && this.last !== undefined && this.last.input.length === i.length) {
      const sourceJump = meanAbsDiff(i, this.last.input);
      this.boundary = meanAbsDiff(o, this.last.output) / Math.max(sourceJump, 0.5);
    }
    this.atSegmentStart = false;
    this.last = { input: i, output: o };
  }

  endSegment(): SegmentStats {
    const stats = { changed: this.frames === 0 ? 0 : this.sum / this.frames, ...(this.boundary === undefined ? {} : { boundaryFlicker: this.boundary }) };
    this.sum = 0;
    this.frames = 0;
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
