// The estimate: interpolation of measured frames/s, the figures per instance type (measured ones
// only, priced ones costed), live per hour, and the tables' checks.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateJob, formatEstimate, fpsAt, jobEstimateSchema, type InputFacts } from '../../src/estimate/estimate.js';
import { measuredTable, priceTable, type MeasuredTable, type PriceTable, type ThroughputRow } from '../../src/estimate/tables.js';

const row = (w: number, h: number, fps: number, startupSeconds = 1, instanceType = 'local'): ThroughputRow => ({
  instanceType,
  hardware: 'test CPU',
  provider: 'cpu',
  model: 'm',
  outputWidth: w,
  outputHeight: h,
  fps,
  startupSeconds,
  date: '2026-01-01',
  command: 'test',
});
const measured: MeasuredTable = {
  throughput: [row(640, 360, 20, 1), row(1280, 720, 4, 2), row(1920, 1080, 30, 3, 'g5.xlarge')],
  outputBits: [
    { crf: 20, bitsPerPixel: { low: 0.05, median: 0.1, high: 0.2 }, clips: 'c', hardware: 'h', date: '2026-01-01', command: 'x' },
  ],
};
const prices: PriceTable = {
  currency: 'USD',
  basis: 'test',
  asOf: '2026',
  instances: { 'g5.xlarge': { gpu: 'A10G', perHour: 3.6 }, 'g6.xlarge': { gpu: 'L4', perHour: 1 } },
};
const vod: InputFacts = { input: 'in.m3u8', width: 960, height: 540, frameRate: 25, durationSeconds: 60, segments: 30 };

describe('fpsAt', () => {
  const rows = measured.throughput.filter((r) => r.instanceType === 'local');
  it('is the measured figure at a measured size', () => {
    expect(fpsAt(rows, 640 * 360)).toMatchObject({ fps: 20, startup: 1, extrapolated: false });
    expect(fpsAt(rows, 1280 * 720)).toMatchObject({ fps: 4, startup: 2, extrapolated: false });
  });
  it('interpolates the pixel rate linearly in pixels between two sizes', () => {
    const px = (640 * 360 + 1280 * 720) / 2;
    const rate = (20 * 640 * 360 + 4 * 1280 * 720) / 2;
    const at = fpsAt(rows, px)!;
    expect(at.fps).toBeCloseTo(rate / px, 9);
    expect(at.startup).toBeCloseTo(1.5, 9);
    expect(at.basis).toHaveLength(2);
  });
  it('holds the nearest pixel rate outside the measured sizes, marked extrapolated', () => {
    expect(fpsAt(rows, 1920 * 1080)).toMatchObject({ fps: (4 * 1280 * 720) / (1920 * 1080), extrapolated: true });
    expect(fpsAt(rows, 320 * 180)).toMatchObject({ fps: 80, extrapolated: true });
  });
  it('is undefined with no measurement', () => {
    expect(fpsAt([], 100)).toBeUndefined();
  });
});

describe('estimateJob', () => {
  it('gives frames, output size and, per instance type, only measured figures', () => {
    const e = estimateJob(vod, { scale: 2, model: 'm', crf: 20, shards: 3 }, measured, prices, new Date('2026-01-02T00:00:00Z'));
    expect(jobEstimateSchema.parse(e)).toEqual(e);
    expect(e).toMatchObject({ mode: 'vod', frames: 1500, output: { width: 1920, height: 1080 }, shards: 3, segments: 30, currency: 'USD' });
    // 1920x1080 x 1500 frames at 0.1 bit/pixel.
    expect(e.outputBytes).toMatchObject({
      median: Math.round((0.1 * 1920 * 1080 * 1500) / 8),
      low: Math.round((0.05 * 1920 * 1080 * 1500) / 8),
    });
    expect(e.instances.map((i) => i.instanceType)).toEqual(['local', 'g5.xlarge', 'g6.xlarge']);
    const [local, g5, g6] = e.instances;
    expect(local).toMatchObject({ measured: true, extrapolated: true });
    expect(local!.costUsd).toBeUndefined();
    // g5: 30 frames/s measured at this very size: 50 s of work over 3 shards, each paying the startup once.
    expect(g5).toMatchObject({ measured: true, fps: 30, computeSeconds: 59, wallSeconds: 19.7, costUsd: 0.059, gpu: 'A10G' });
    expect(g5!.basis![0]).toMatchObject({ hardware: 'test CPU', outputWidth: 1920, command: 'test' });
    // g6 is priced but not measured: listed, never guessed.
    expect(g6).toEqual({ instanceType: 'g6.xlarge', gpu: 'L4', pricePerHour: 1, measured: false });
    const text = formatEstimate(e);
    expect(text).toMatch(/^g6\.xlarge\s+L4\s+not measured\s+-\s+-\s+-$/m);
    expect(text).toMatch(/^g5\.xlarge\s+A10G\s+30\.00\s+59\.0 s\s+19\.7 s\s+0\.0590 USD$/m);
    expect(text).toMatch(/^local\s+CPU\s+\d+\.\d\d\*/m);
  });
  it('another model has no measurement anywhere, and an unmeasured CRF no size', () => {
    const e = estimateJob(vod, { scale: 2, model: 'other', crf: 23 }, measured, prices);
    expect(e.instances.every((i) => !i.measured)).toBe(true);
    expect(e.outputBytes).toBeUndefined();
    expect(formatEstimate(e)).toContain('output    size not measured at CRF 23');
  });
  it('a live stream is estimated per hour: compute per hour and whether one worker keeps up', () => {
    const e = estimateJob(
      { ...vod, durationSeconds: null, segments: null },
      { scale: 2, model: 'm', crf: 20, shards: 4 },
      measured,
      prices,
    );
    expect(e).toMatchObject({ mode: 'live', durationSeconds: 3600, frames: 90000, shards: 1 });
    const g5 = e.instances.find((i) => i.instanceType === 'g5.xlarge')!;
    expect(g5).toMatchObject({ keepsUp: true, computeSeconds: 3000, costUsd: 3 });
    expect(g5.wallSeconds).toBeUndefined();
    expect(e.instances[0]).toMatchObject({ instanceType: 'local', keepsUp: false });
  });
});

describe('tables', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-estimate-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  it('the shipped tables are valid, and every throughput row names its hardware, date and command', () => {
    const t = measuredTable();
    expect(t.throughput.length).toBeGreaterThan(0);
    for (const r of t.throughput) expect(r.hardware && r.date && r.command).toBeTruthy();
    expect(Object.keys(priceTable().instances)).toContain('g5.xlarge');
  });
  it('a price file that breaks the schema is refused naming the field and the rule', async () => {
    const bad = path.join(dir, 'prices.json');
    await writeFile(
      bad,
      JSON.stringify({ currency: 'USD', basis: 'b', asOf: '2026', instances: { 'g5.xlarge': { gpu: 'A10G', perHour: -1 } } }),
    );
    expect(() => priceTable(bad)).toThrow(/price table .*prices\.json is not a valid table: instances\.g5\.xlarge\.perHour: /);
    await writeFile(bad, '{');
    expect(() => priceTable(bad)).toThrow(/is not JSON/);
    expect(() => priceTable(path.join(dir, 'none.json'))).toThrow(/cannot be read/);
  });
});
