// An estimate before the work: from the input's facts (duration, frames, picture size) and the
// measured tables, the output size and, for each instance type, the compute seconds, the wall
// time and the cost. Frames/s at the job's output size comes from the instance type's measured
// rows of the same model: the output pixel rate (frames/s x pixels per frame) of the nearest
// measured sizes, interpolated linearly in pixels between two, held flat outside them (and then
// marked `extrapolated`). An instance type with no row for the model is "not measured".
import { z } from 'zod';
import { readModelContract } from '../inference/model-contract.js';
import { LOCAL, measuredTable, type MeasuredTable, type PriceTable, type ThroughputRow } from './tables.js';

/** What an estimate knows about the input. */
export interface InputFacts {
  readonly input: string;
  /** Source picture as the model sees it (upright). */
  readonly width: number;
  readonly height: number;
  readonly frameRate: number;
  /** VOD: the whole stream; live: null (the estimate is then per hour of stream). */
  readonly durationSeconds: number | null;
  readonly segments: number | null;
}

export interface EstimateOptions {
  /** Picture scale of the model, and its name (the measurements are per model). */
  readonly scale: number;
  readonly model: string;
  /** Output quality (CRF) of the encoder: the output size is measured per CRF. */
  readonly crf: number;
  /** VOD shards restored in parallel (one worker each). @default 1 */
  readonly shards?: number;
}

const r1 = (v: number): number => Math.round(v * 10) / 10;
const r2 = (v: number): number => Math.round(v * 100) / 100;
const r4 = (v: number): number => Math.round(v * 10000) / 10000;

const measurementRef = z.object({
  hardware: z.string(),
  outputWidth: z.number(),
  outputHeight: z.number(),
  date: z.string(),
  command: z.string(),
});

const instanceEstimateSchema = z.object({
  instanceType: z.string(),
  /** The GPU of the instance type (price table); absent for the local CPU. */
  gpu: z.string().optional(),
  pricePerHour: z.number().optional(),
  measured: z.boolean(),
  /** Frames/s at the job's output size. */
  fps: z.number().optional(),
  /** The measured sizes were all smaller or all larger than the job's: held at the nearest. */
  extrapolated: z.boolean().optional(),
  /** Worker seconds (VOD: the whole job over all shards; live: per hour of stream). */
  computeSeconds: z.number().optional(),
  /** VOD: from the first segment's start to the last one's publication, with the shards in parallel. */
  wallSeconds: z.number().optional(),
  /** Live: whether one worker keeps up with the stream (its frames/s at least the source's). */
  keepsUp: z.boolean().optional(),
  costUsd: z.number().optional(),
  /** The measurements the figure comes from. */
  basis: z.array(measurementRef).optional(),
});

export const jobEstimateSchema = z.object({
  version: z.literal(1),
  input: z.string(),
  mode: z.enum(['vod', 'live']),
  model: z.string(),
  source: z.object({ width: z.number(), height: z.number(), frameRate: z.number() }),
  output: z.object({ width: z.number(), height: z.number() }),
  /** VOD: the stream's; live: one hour. */
  durationSeconds: z.number(),
  frames: z.number(),
  segments: z.number().nullable(),
  shards: z.number(),
  crf: z.number(),
  /** Bytes of the restored rendition's video: the low, median and high bit rate measured at this CRF. */
  outputBytes: z.object({ low: z.number(), median: z.number(), high: z.number(), basis: z.string() }).optional(),
  currency: z.string(),
  prices: z.string(),
  instances: z.array(instanceEstimateSchema),
  madeAt: z.iso.datetime(),
});

export type InstanceEstimate = z.infer<typeof instanceEstimateSchema>;
export type JobEstimate = z.infer<typeof jobEstimateSchema>;

/** Frames/s of `rows` (one instance type, one model) at `pixels` per output frame. */
export function fpsAt(
  rows: readonly ThroughputRow[],
  pixels: number,
): { fps: number; startup: number; extrapolated: boolean; basis: ThroughputRow[] } | undefined {
  if (rows.length === 0) return undefined;
  const pts = rows
    .map((r) => ({ px: r.outputWidth * r.outputHeight, rate: r.fps * r.outputWidth * r.outputHeight, r }))
    .sort((a, b) => a.px - b.px);
  const below = pts.filter((p) => p.px <= pixels).at(-1);
  const above = pts.find((p) => p.px >= pixels);
  if (below !== undefined && above !== undefined) {
    const t = above.px === below.px ? 0 : (pixels - below.px) / (above.px - below.px);
    const rate = below.rate + t * (above.rate - below.rate);
    const startup = below.r.startupSeconds + t * (above.r.startupSeconds - below.r.startupSeconds);
    return { fps: rate / pixels, startup, extrapolated: false, basis: below === above ? [below.r] : [below.r, above.r] };
  }
  const nearest = (below ?? above)!;
  return { fps: nearest.rate / pixels, startup: nearest.r.startupSeconds, extrapolated: true, basis: [nearest.r] };
}

/** The estimate of a job on `facts` for the local CPU and every priced instance type. */
export function estimateJob(
  facts: InputFacts,
  o: EstimateOptions,
  measured: MeasuredTable,
  prices: PriceTable,
  now = new Date(),
): JobEstimate {
  const live = facts.durationSeconds === null;
  const durationSeconds = facts.durationSeconds ?? 3600;
  const frames = Math.round(durationSeconds * facts.frameRate);
  const out = { width: facts.width * o.scale, height: facts.height * o.scale };
  const pixels = out.width * out.height;
  const shards = live ? 1 : Math.max(1, Math.min(o.shards ?? 1, facts.segments ?? 1));
  const bits = measured.outputBits.find((b) => b.crf === o.crf);
  const bytesAt = (bpp: number): number => Math.round((bpp * pixels * frames) / 8);
  const types = [LOCAL, ...Object.keys(prices.instances).sort()];
  const instances = types.map((instanceType): InstanceEstimate => {
    const price = prices.instances[instanceType];
    const head = { instanceType, ...(price === undefined ? {} : { gpu: price.gpu, pricePerHour: price.perHour }) };
    const at = fpsAt(
      measured.throughput.filter((r) => r.instanceType === instanceType && r.model === o.model),
      pixels,
    );
    if (at === undefined) return { ...head, measured: false };
    const work = frames / at.fps;
    // Each shard's worker pays the startup once; live: the stream runs for the hour regardless.
    const computeSeconds = live ? work : work + shards * at.startup;
    return {
      ...head,
      measured: true,
      fps: r2(at.fps),
      ...(at.extrapolated ? { extrapolated: true } : {}),
      computeSeconds: r1(computeSeconds),
      ...(live ? { keepsUp: at.fps >= facts.frameRate } : { wallSeconds: r1(at.startup + work / shards) }),
      ...(price === undefined ? {} : { costUsd: r4((computeSeconds / 3600) * price.perHour) }),
      basis: at.basis.map((b) => ({
        hardware: b.hardware,
        outputWidth: b.outputWidth,
        outputHeight: b.outputHeight,
        date: b.date,
        command: b.command,
      })),
    };
  });
  return {
    version: 1,
    input: facts.input,
    mode: live ? 'live' : 'vod',
    model: o.model,
    source: { width: facts.width, height: facts.height, frameRate: r2(facts.frameRate) },
    output: out,
    durationSeconds: r2(durationSeconds),
    frames,
    segments: facts.segments,
    shards,
    crf: o.crf,
    ...(bits === undefined
      ? {}
      : {
          outputBytes: {
            low: bytesAt(bits.bitsPerPixel.low),
            median: bytesAt(bits.bitsPerPixel.median),
            high: bytesAt(bits.bitsPerPixel.high),
            basis: `${bits.clips}; ${bits.date}; ${bits.command}`,
          },
        }),
    currency: prices.currency,
    prices: `${prices.basis} (as of ${prices.asOf})`,
    instances,
    madeAt: now.toISOString(),
  };
}

/** The estimate of a job on `facts` with the model at `modelPath` (its sidecar's scale and name), from the shipped measurements. */
export async function estimateWithModel(
  facts: InputFacts,
  modelPath: string,
  o: { readonly crf: number; readonly shards?: number; readonly prices: PriceTable },
): Promise<JobEstimate> {
  const contract = await readModelContract(modelPath);
  const opts = { scale: contract.scale, model: contract.name, crf: o.crf, ...(o.shards === undefined ? {} : { shards: o.shards }) };
  return estimateJob(facts, opts, measuredTable(), o.prices);
}

const mb = (b: number): string =>
  b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${Math.round(b / 1e3)} kB`;
const hms = (s: number): string => {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
};

/** The estimate as a person reads it: the job, then a row per instance type, then the sources. */
export function formatEstimate(e: JobEstimate): string {
  const lines = [
    `input     ${e.input}`,
    `picture   ${e.source.width}x${e.source.height} at ${e.source.frameRate} frames/s -> ${e.output.width}x${e.output.height} (${e.model})`,
    e.mode === 'vod'
      ? `length    ${hms(e.durationSeconds)}, ${e.frames} frames${e.segments === null ? '' : `, ${e.segments} segments`}${e.shards > 1 ? `, ${e.shards} shards` : ''}`
      : `length    live: figures per hour of stream (${e.frames} frames)`,
    e.outputBytes === undefined
      ? `output    size not measured at CRF ${e.crf}`
      : `output    ${mb(e.outputBytes.median)} video at CRF ${e.crf} (${mb(e.outputBytes.low)} .. ${mb(e.outputBytes.high)} over the measured clips)`,
    '',
  ];
  const rows = [
    [
      'instance',
      'gpu',
      'frames/s',
      e.mode === 'vod' ? 'compute' : 'compute/h',
      e.mode === 'vod' ? 'wall' : 'keeps up',
      e.mode === 'vod' ? 'cost' : 'cost/h',
    ],
  ];
  for (const i of e.instances) {
    if (!i.measured) {
      rows.push([i.instanceType, i.gpu ?? 'CPU', 'not measured', '-', '-', '-']);
      continue;
    }
    rows.push([
      i.instanceType,
      i.gpu ?? 'CPU',
      `${i.fps!.toFixed(2)}${i.extrapolated ? '*' : ''}`,
      hms(i.computeSeconds!),
      e.mode === 'vod' ? hms(i.wallSeconds!) : i.keepsUp ? 'yes' : 'no',
      i.costUsd === undefined ? '-' : `${i.costUsd.toFixed(i.costUsd < 1 ? 4 : 2)} ${e.currency}`,
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows)
    lines.push(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
  lines.push('');
  const bases = new Map<string, string>();
  for (const i of e.instances) {
    for (const b of i.basis ?? [])
      bases.set(`${i.instanceType} ${b.outputWidth}x${b.outputHeight}`, `${b.hardware}, ${b.date}: ${b.command}`);
  }
  for (const [k, v] of bases) lines.push(`measured  ${k}: ${v}`);
  if (e.instances.some((i) => i.extrapolated))
    lines.push("*         outside the measured output sizes: the nearest measurement's pixel rate");
  if (e.outputBytes !== undefined) lines.push(`size      ${e.outputBytes.basis}`);
  lines.push(`prices    ${e.prices}`);
  return lines.join('\n');
}
