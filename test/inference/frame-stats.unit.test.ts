import { describe, expect, it } from 'vitest';
import { fidelity, psnrOf, StatsTracker, windowStride } from '../../src/inference/frame-stats.js';
import type { YuvFrame } from '../../src/types.js';

/** A 4:2:0 frame whose luma is `luma(x, y)` (chroma flat). */
function frame(width: number, height: number, luma: (x: number, y: number) => number): YuvFrame {
  const data = new Uint8Array((width * height * 3) / 2).fill(128);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = Math.max(0, Math.min(255, Math.round(luma(x, y))));
  return { width, height, data };
}

/** Whole-frame fidelity, written plainly: every pixel in the error, 8x8 windows at a stride of 4. */
function wholeFrame(input: YuvFrame, output: YuvFrame, scale: number): { mse: number; ssim: number } {
  const { width: w, height: h } = input;
  const down = new Float64Array(w * h);
  let se = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = 0; dy < scale; dy++)
        for (let dx = 0; dx < scale; dx++) s += output.data[(y * scale + dy) * output.width + x * scale + dx]!;
      down[y * w + x] = s / (scale * scale);
      se += (down[y * w + x]! - input.data[y * w + x]!) ** 2;
    }
  }
  let ssim = 0;
  let n = 0;
  for (let y0 = 0; y0 + 8 <= h; y0 += 4) {
    for (let x0 = 0; x0 + 8 <= w; x0 += 4) {
      const a: number[] = [];
      const b: number[] = [];
      for (let y = y0; y < y0 + 8; y++) for (let x = x0; x < x0 + 8; x++) (a.push(input.data[y * w + x]!), b.push(down[y * w + x]!));
      const mean = (v: number[]): number => v.reduce((p, q) => p + q, 0) / v.length;
      const ma = mean(a);
      const mb = mean(b);
      const va = mean(a.map((v) => v * v)) - ma * ma;
      const vb = mean(b.map((v) => v * v)) - mb * mb;
      const cov = mean(a.map((v, i) => v * b[i]!)) - ma * mb;
      const c1 = 6.5025;
      const c2 = 58.5225;
      ssim += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      n++;
    }
  }
  return { mse: se / (w * h), ssim: ssim / n };
}

// A textured picture and a restoration of it that is close but not equal (noise, a soft shift).
const texture = (x: number, y: number): number => 128 + 60 * Math.sin(x / 7) * Math.cos(y / 5) + 30 * Math.sin((x + 2 * y) / 23);
const noise = (x: number, y: number): number => ((Math.sin(x * 12.9898 + y * 78.233) * 43758.5453) % 1) * 8;

describe('fidelity', () => {
  it('measures a small frame whole, exactly as the plain definition', () => {
    const input = frame(96, 64, texture);
    const output = frame(192, 128, (x, y) => texture(x / 2, y / 2) + noise(x, y));
    expect(windowStride(96, 64)).toBe(4);
    const got = fidelity(input, output, 2);
    const want = wholeFrame(input, output, 2);
    expect(got.mse).toBeCloseTo(want.mse, 6);
    expect(got.ssim).toBeCloseTo(want.ssim, 6);
  });

  it('measures a large frame on a grid of at most about 256 windows, close to the whole-frame figure', () => {
    const input = frame(1280, 720, texture);
    const output = frame(2560, 1440, (x, y) => texture(x / 2 + 0.3, y / 2) + noise(x, y));
    const stride = windowStride(1280, 720);
    expect(Math.floor((1280 - 8) / stride + 1) * Math.floor((720 - 8) / stride + 1)).toBeLessThanOrEqual(300);
    const got = fidelity(input, output, 2);
    const want = wholeFrame(input, output, 2);
    expect(Math.abs(psnrOf(got.mse) - psnrOf(want.mse))).toBeLessThan(0.5);
    expect(Math.abs(got.ssim - want.ssim)).toBeLessThan(0.02);
  });

  it('is measured on every 4th frame of a segment, its first included', () => {
    const input = frame(64, 64, texture);
    const exact = frame(128, 128, (x, y) => texture(x / 2, y / 2));
    const off = frame(128, 128, (x, y) => texture(x / 2, y / 2) + 40);
    const t = new StatsTracker();
    // Frames 0 and 4 are measured (exact), 1-3 and 5 not (off): a perfect-looking figure.
    for (const f of [exact, off, off, off, exact, off]) t.add(input, f, 2);
    const s = t.endSegment();
    expect(s.fidelitySsimY).toBeGreaterThan(0.99);
    t.add(input, off, 2);
    expect(psnrOf(0)).toBe(100);
    expect(t.endSegment().fidelityPsnrY).toBeLessThan(20);
  });
});
